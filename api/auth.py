"""HTTP access to the registry: bearer tokens, roles, and rate-limited failures (FastAPI dependencies).

Reading (free places, approvals) is anonymous, like the lookup; writing needs ``Authorization: Bearer <token>``.
Answers: 401 without a token or with a wrong or revoked one (``WWW-Authenticate: Bearer``), 403 when the role or
the unit does not allow the request, 429 with ``Retry-After`` once a client IP, or a token prefix, has failed too
often within the window (``ASIH_AUTH_FAILURES_PER_IP``, ``ASIH_AUTH_FAILURES_PER_TOKEN``,
``ASIH_AUTH_FAILURE_WINDOW_S``). A rate-limited client is refused before its token is checked, so guessing does
not continue at a slower pace.

The counts are kept in the process: each worker of a multi-worker server counts on its own (the limit then
applies per worker). The client IP is the socket's peer; behind a reverse proxy, run uvicorn with
``--proxy-headers --forwarded-allow-ips=<proxy>`` so that it is the client's.
"""

from __future__ import annotations

import math
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable

from fastapi import Depends, HTTPException, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from registry.service import Actor, RegistryService
from registry.tokens import token_prefix

bearer_scheme = HTTPBearer(
    auto_error=False,
    scheme_name="RegistryToken",
    description="A registry token (`asih users add`), shown once when created: `Authorization: Bearer asih_…`.",
)
_registry_lock = threading.Lock()


class FailureLimiter:
    """Counts failures per key in a sliding window; thread-safe, bounded in memory.

    Parameters
    ----------
    limits
        ``{kind: max failures}``, e.g. ``{"ip": 20, "token": 5}``; keys are ``(kind, value)``.
    window_s
        Failures older than this are forgotten (seconds).
    max_keys
        The most keys remembered; the least recently failed are forgotten first (a flood of random prefixes
        cannot grow memory without bound).
    """

    def __init__(self, limits: dict[str, int], window_s: float, *, max_keys: int = 10_000,
                 clock: Callable[[], float] = time.monotonic):
        self.limits = dict(limits)
        self.window_s = float(window_s)
        self.max_keys = max_keys
        self.clock = clock
        self._failures: OrderedDict[tuple[str, str], deque[float]] = OrderedDict()
        self._lock = threading.Lock()

    def retry_after(self, keys: list[tuple[str, str]]) -> float | None:
        """Seconds until the first of ``keys`` that is over its limit may try again; None when none is."""
        now = self.clock()
        waits = []
        with self._lock:
            for key in keys:
                times = self._prune(key, now)
                if times is not None and len(times) >= self.limits[key[0]]:
                    waits.append(times[len(times) - self.limits[key[0]]] + self.window_s - now)
        return max(waits) if waits else None

    def fail(self, keys: list[tuple[str, str]]) -> None:
        """Count one failure against each key."""
        now = self.clock()
        with self._lock:
            for key in keys:
                times = self._failures.pop(key, None) or deque()
                times.append(now)
                while len(times) > self.limits[key[0]]:
                    times.popleft()
                self._failures[key] = times
            while len(self._failures) > self.max_keys:
                self._failures.popitem(last=False)

    def _prune(self, key, now: float) -> deque[float] | None:
        times = self._failures.get(key)
        if times is None:
            return None
        while times and times[0] <= now - self.window_s:
            times.popleft()
        if not times:
            del self._failures[key]
            return None
        return times


def get_registry(request: Request) -> RegistryService:
    """The app's registry (opened at start by the registry router's lifespan, or here on first use)."""
    state = request.app.state
    registry = getattr(state, "registry", None)
    if registry is None:
        with _registry_lock:
            registry = getattr(state, "registry", None)
            if registry is None:
                registry = RegistryService.from_settings(getattr(state, "settings", None))
                state.registry = registry
    return registry


def get_limiter(request: Request) -> FailureLimiter:
    """The app's failure counts (one per app)."""
    state = request.app.state
    limiter = getattr(state, "registry_limiter", None)
    if limiter is None:
        with _registry_lock:
            limiter = getattr(state, "registry_limiter", None)
            if limiter is None:
                limiter = limiter_from_settings(getattr(state, "settings", None))
                state.registry_limiter = limiter
    return limiter


def limiter_from_settings(settings=None) -> FailureLimiter:
    from core.settings import get_settings

    settings = settings or get_settings()
    return FailureLimiter({"ip": settings.auth_failures_per_ip, "token": settings.auth_failures_per_token},
                          settings.auth_failure_window_s)


def current_actor(
    request: Request,
    credentials: HTTPAuthorizationCredentials | None = Depends(bearer_scheme),
    registry: RegistryService = Depends(get_registry),
    limiter: FailureLimiter = Depends(get_limiter),
) -> Actor:
    """The token's holder; 401 without a valid token, 429 while the client or the token prefix is rate-limited."""
    if credentials is None or not credentials.credentials:
        raise HTTPException(401, "A registry token is required: send 'Authorization: Bearer <token>'.",
                            headers={"WWW-Authenticate": "Bearer"})
    token = credentials.credentials.strip()
    keys = [("ip", request.client.host if request.client else "unknown")]
    prefix = token_prefix(token)
    if prefix is not None:
        keys.append(("token", prefix))
    wait = limiter.retry_after(keys)
    if wait is not None:
        raise HTTPException(429, "Too many failed token checks; try again later.",
                            headers={"Retry-After": str(max(1, math.ceil(wait)))})
    actor = registry.authenticate(token)
    if actor is None:
        limiter.fail(keys)
        raise HTTPException(401, "The token is not valid (unknown, mistyped or revoked).",
                            headers={"WWW-Authenticate": 'Bearer error="invalid_token"'})
    return actor


def require_role(*roles: str) -> Callable[..., Actor]:
    """A dependency admitting only actors with one of ``roles`` (403 otherwise)."""

    def dependency(actor: Actor = Depends(current_actor)) -> Actor:
        if actor.role not in roles:
            allowed = " or ".join(r.replace("_", " ") + "s" for r in roles)
            raise HTTPException(403, f"Only {allowed} may do this; your token's role is {actor.role.replace('_', ' ')}.")
        return actor

    return dependency
