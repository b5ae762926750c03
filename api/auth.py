"""HTTP access to the registry: bearer tokens, roles, and throttled failures (FastAPI dependencies).

Reading (free places, approvals) is anonymous, like the lookup; writing needs ``Authorization: Bearer <token>``.
Answers: 401 without a token or with a wrong, revoked or expired one (``WWW-Authenticate: Bearer``), 403 when the
role or the unit does not allow the request, 429 with ``Retry-After`` for a *failed* check from an address, or naming
a token prefix, that failed too often within the window (``ASIH_AUTH_FAILURES_PER_IP`` — counting only failures that
name no known prefix —, ``ASIH_AUTH_FAILURES_PER_TOKEN``, ``ASIH_AUTH_FAILURE_WINDOW_S``). The token is always checked
first: a valid one is never refused for others' failures. The rules and where the counts live (the registry
database, shared by every worker): :mod:`registry.throttle`. Sentences come from ``core/words.yaml``, in Swedish when
the request's ``Accept-Language`` prefers it, else in English.

The client address is the socket's peer; behind a reverse proxy, run the server with the proxy-header options so
that it is the client's.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable

from fastapi import Depends, HTTPException, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from core.settings import get_settings
from core.words import render
from registry.service import Actor, RegistryService
from registry.throttle import FailureLimiter, Throttle
from registry.values import iso

__all__ = ["FailureLimiter", "Throttle", "bearer_scheme", "current_actor", "get_registry", "get_throttle",
           "require_role"]

bearer_scheme = HTTPBearer(
    auto_error=False,
    scheme_name="RegistryToken",
    description="A registry token (`asih users add`), shown once when created: `Authorization: Bearer asih_…`.",
)
_registry_lock = threading.Lock()


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


def get_throttle(request: Request) -> Throttle:
    """The app's failure counts (one per app, on its registry's database). A :class:`FailureLimiter` handed to the
    app as ``state.registry_limiter`` sets the limits and window; else the settings do."""
    state = request.app.state
    throttle = getattr(state, "auth_throttle", None)
    if throttle is None:
        registry = get_registry(request)
        with _registry_lock:
            throttle = getattr(state, "auth_throttle", None)
            if throttle is None:
                throttle = throttle_for(registry, getattr(state, "registry_limiter", None),
                                        getattr(state, "settings", None))
                state.auth_throttle = throttle
    return throttle


def throttle_for(registry: RegistryService, limiter: FailureLimiter | None = None, settings=None) -> Throttle:
    """A :class:`Throttle` on ``registry``'s database with ``limiter``'s limits, else the settings'."""
    if limiter is None:
        settings = settings or get_settings()
        limits = {"ip": settings.auth_failures_per_ip, "token": settings.auth_failures_per_token}
        window_s = settings.auth_failure_window_s
    else:
        limits, window_s = limiter.limits, limiter.window_s
    return Throttle(registry.engine, limits, window_s, registry.clock)


def language(request: Request) -> str:
    """``sv`` when the request's ``Accept-Language`` prefers Swedish (its first tag), else ``en``."""
    first = request.headers.get("accept-language", "").split(",")[0].strip().lower()
    return "sv" if first.startswith("sv") else "en"


def current_actor(
    request: Request,
    credentials: HTTPAuthorizationCredentials | None = Depends(bearer_scheme),
    registry: RegistryService = Depends(get_registry),
    throttle: Throttle = Depends(get_throttle),
) -> Actor:
    """The token's holder; 401 without a valid token, 429 for a failed check while its address or prefix is over
    its limit (a valid token always passes)."""
    lang = language(request)
    if credentials is None or not credentials.credentials:
        raise HTTPException(401, render("auth_token_required", {}, lang), headers={"WWW-Authenticate": "Bearer"})
    check = registry.check_token(credentials.credentials.strip())
    if check.actor is not None:
        return check.actor
    if check.expired_at is not None:  # the right secret: nothing to count
        raise HTTPException(401, render("auth_token_expired", {"date": iso(check.expired_at)}, lang),
                            headers={"WWW-Authenticate": 'Bearer error="invalid_token"'})
    address = request.client.host if request.client else "unknown"
    wait = throttle.failed(address, check.prefix_key, check.prefix_known)
    if wait is not None:
        seconds = max(1, math.ceil(wait))
        raise HTTPException(429, render("auth_too_many_failures", {"seconds": seconds}, lang),
                            headers={"Retry-After": str(seconds)})
    raise HTTPException(401, render("auth_token_invalid", {}, lang),
                        headers={"WWW-Authenticate": 'Bearer error="invalid_token"'})


def require_role(*roles: str) -> Callable[..., Actor]:
    """A dependency admitting only actors with one of ``roles`` (403 otherwise)."""

    def dependency(actor: Actor = Depends(current_actor)) -> Actor:
        if actor.role not in roles:
            allowed = " or ".join(r.replace("_", " ") + "s" for r in roles)
            raise HTTPException(403, f"Only {allowed} may do this; your token's role is {actor.role.replace('_', ' ')}.")
        return actor

    return dependency
