"""House numbers the register does not have, placed between the ones it has on the same street.

Swedish numbering: odd numbers on one side of a street, even on the other, each rising away from the street's
start (the end nearest the town centre). A house number missing from the register therefore lies between the
nearest lower and the nearest higher *known number of the same parity* on the same street: "Götgatan 104" between
100 and 110. The point is placed along the straight line between those two address points in proportion to the
number (the numbers' spacing is not uniform, so this is an estimate), and the answer's region keeps both known
points and the street's own points between them, so the area is decided over everything the house may be near.

Only between, never beyond: a number above the highest known one (or below the lowest) stays a street answer. Only
when the two known numbers are close (:data:`MAX_NUMBER_GAP`, :data:`MAX_GAP_M`): farther apart the street may bend
or change side. Everything in EPSG:3006 metres.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from core.crs import to_metric
from geo.geocode.index import Street

MAX_NUMBER_GAP = 20
"""The two known numbers of the same parity may differ by at most this much (10 houses on that side)."""
MAX_GAP_M = 500.0
"""… and lie at most this far apart (m)."""
BETWEEN_SLACK_M = 50.0
"""The street's own points count as between the two known houses when within this much (m) of the circle whose
diameter joins them."""
_NUMBER = re.compile(r"^(\d{1,5})")


@dataclass(frozen=True)
class Interpolated:
    """A house number placed between two known ones.

    ``x``/``y``: the estimated point; ``low``/``high``: the known numbers it lies between (same parity);
    ``points``: the region's points — the estimate, both known address points and the street's points between them
    ((n, 2) array); ``width_m``: farthest of those from the estimate.
    """

    x: float
    y: float
    low: int
    high: int
    points: np.ndarray
    width_m: float


def interpolate(street: Street, number: str) -> Interpolated | None:
    """``number`` ("104", "104B") placed between the street's known numbers of the same parity, or None when the
    register has no known number on both sides of it within :data:`MAX_NUMBER_GAP` and :data:`MAX_GAP_M`."""
    match = _NUMBER.match(number)
    if match is None:
        return None
    n = int(match.group(1))
    known: dict[int, tuple[float, float]] = {}
    for key, latlon in street.houses.items():
        k = _NUMBER.match(key)
        if k is not None and int(k.group(1)) % 2 == n % 2:
            known.setdefault(int(k.group(1)), latlon)
    lower = [k for k in known if k < n]
    higher = [k for k in known if k > n]
    if not lower or not higher:
        return None
    low, high = max(lower), min(higher)
    if high - low > MAX_NUMBER_GAP:
        return None
    (xa, ya), (xb, yb) = (tuple(float(v) for v in to_metric(*known[k])) for k in (low, high))
    gap = float(np.hypot(xb - xa, yb - ya))
    if gap > MAX_GAP_M:
        return None
    t = (n - low) / (high - low)
    x, y = xa + t * (xb - xa), ya + t * (yb - ya)
    centre = np.array([(xa + xb) / 2, (ya + yb) / 2])
    xy = np.asarray(street.xy, dtype=float).reshape(-1, 2)
    between = xy[np.hypot(*(xy - centre).T) <= gap / 2 + BETWEEN_SLACK_M] if len(xy) else xy
    points = np.vstack([[[x, y], [xa, ya], [xb, yb]], between])
    width = float(np.hypot(*(points - (x, y)).T).max())
    return Interpolated(x, y, low, high, points, round(width, -1))


__all__ = ["BETWEEN_SLACK_M", "Interpolated", "MAX_GAP_M", "MAX_NUMBER_GAP", "interpolate"]
