"""Data checks at start: the same checks as ``asih areas --check`` and ``asih providers --check``, run before
``serve``, ``lookup`` and ``batch`` answer anything, plus the network plausibility check of ``asih prepare``.

A failure is one message naming the file and the fix; the caller refuses to start.
"""

from __future__ import annotations

from pathlib import Path

from geo.areas.definitions import AreaDataError
from geo.areas.locate import AreaLocator
from geo.areas.model import AreaModel, load_area_model
from geo.boundaries import DataFileError
from core.cache import CacheError
from geo.providers import ProviderDataError, Registry, read_registry, validate_registry
from core.settings import Settings


class DataCheckError(RuntimeError):
    """A data file or the prepared cache fails its checks; the message names the file and the fix."""


def check_providers(settings: Settings, model: AreaModel, providers_file: Path | None = None) -> Registry:
    """Read and validate the providers file against the area model (ids, approvals, bases in the county and on
    land), as ``asih providers --check`` does. Raises :class:`~geo.providers.ProviderDataError`."""
    registry = read_registry(providers_file or settings.providers_file)
    locator = AreaLocator(model, 0)
    validate_registry(registry, [a.id for a in model.defs.areas], locator.locate, locator.distance_to_land_m,
                      settings.base_max_from_land_m)
    return registry


def check_data(settings: Settings, rebuild: bool = True) -> tuple[AreaModel, Registry]:
    """The areas file (through the area model, rebuilt and validated when the file changed) and the providers file.

    Raises
    ------
    DataCheckError
        With a message naming the file and the fix.
    """
    try:
        model = load_area_model(settings, rebuild=rebuild)
    except AreaDataError as exc:
        raise DataCheckError(
            f"The areas file {settings.areas_file} is invalid; fix it (`asih areas --check` lists the problems):\n"
            + _problems(exc)
        ) from None
    except (DataFileError, CacheError) as exc:
        raise DataCheckError(str(exc)) from None
    try:
        registry = check_providers(settings, model)
    except ProviderDataError as exc:
        raise DataCheckError(
            f"The providers file {settings.providers_file} is invalid; fix it (`asih providers --check` lists the "
            "problems):\n" + _problems(exc)
        ) from None
    return model, registry


def check_plausibility(settings: Settings, svc) -> None:
    """The network plausibility check of ``asih prepare`` (:func:`routing.prepare.check_network_plausibility`) on a
    loaded service. Raises :class:`DataCheckError`."""
    from routing.prepare import check_network_plausibility

    try:
        samples = svc.auditor().samples  # memoised: the audit data the server keeps anyway
    except CacheError as exc:
        raise DataCheckError(str(exc)) from None
    problems = check_network_plausibility(svc.network, svc.registry, svc.eligibility.trees, samples)
    if problems:
        raise DataCheckError(implausible_message(settings, problems))


def implausible_message(settings: Settings, problems: list[str]) -> str:
    """The refusal for an implausible network: what is wrong and the fix."""
    return (
        f"The road network ({settings.network_source}) is implausible; check the network file (ASIH_NETWORK_FILE, "
        "ASIH_NETWORK_SOURCE) and run `asih prepare` again:\n" + "\n".join(f"- {p}" for p in problems)
    )


def _problems(exc: Exception) -> str:
    problems = getattr(exc, "problems", None) or [str(exc)]
    return "\n".join(f"- {p}" for p in problems)
