"""The FastAPI application: thin routes over the prepared :class:`~lookup.service.Service`.

Start with ``asih serve`` (uvicorn with read deadlines, query strings redacted from the access log) or
``create_app()`` in tests. At start the app refuses invalid areas or providers files and an implausible road
network (the checks of ``asih areas --check``, ``asih providers --check`` and ``asih prepare``), loads the audit data
(``/health`` answers 503 naming the problem when it cannot), and starts the heavy-work pool
(:mod:`api.executor`). Every JSON API answer carries ``Cache-Control: no-store`` and ``nosniff``; ``HEAD`` is
answered wherever ``GET`` is; ``/docs`` and ``/redoc`` are served from vendored files.
"""

from __future__ import annotations

import copy
import logging
import sys
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from api import docs_assets
from api.executor import (
    HEAVY_QUEUE,
    HEAVY_WORKERS,
    RETRY_AFTER_S,
    HeavyExecutor,
)
from api.privacy import install_log_redaction
from api.routes import areas, basemap, coverage, docs, lookup, meta, planning, providers, registry, scenarios, web, whatif
from api.schemas import errors
from lookup.service import Service
from core.settings import Settings, get_settings
from registry.errors import Damaged, Unavailable
from registry.service import RegistryService

log = logging.getLogger("asih")
UNEXPECTED_DETAIL = "Internal error; the request was not stored."
UNAVAILABLE_DETAIL = ("The registry database cannot be used right now; nothing was changed. "
                      "Try again in {s} seconds; lookups keep working meanwhile.")
"""The 503 of a registry request while its database is unavailable (the reason, which names the server, is logged,
not sent)."""
API_PREFIXES = ("/v1/", "/health")
"""Answers under these paths are data, never to be kept by a browser or proxy."""


class StartupRefused(RuntimeError):
    """The data or the cache failed a start check; the message names the file and the fix."""


def create_app(settings: Settings | None = None, service: Service | None = None,
               heavy: HeavyExecutor | None = None) -> FastAPI:
    """Build the app. The service state is loaded (and checked) at start-up unless ``service`` is given."""
    settings = settings or get_settings()
    install_log_redaction()

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        if getattr(app.state, "service", None) is None:
            app.state.service = _load_checked(settings)
        if getattr(app.state, "registry", None) is None:
            try:
                app.state.registry = RegistryService.from_settings(settings)
            except (Damaged, Unavailable) as exc:
                log.error("Refusing to start: %s", exc)
                raise StartupRefused(str(exc)) from None
        if getattr(app.state.service, "live", None) is not app.state.registry:
            # Free places and approvals (lookups, audits, what-if …) from this app's registry; a copy, so a service
            # handed in stays as it was.
            app.state.service = copy.copy(app.state.service)
            app.state.service.live = app.state.registry
        if isinstance(app.state.service, Service):  # not a stand-in (the registry's tests need no lookups)
            app.state.audit_problem = meta.audit_readiness(app.state.service)
            if app.state.audit_problem is None and service is None:
                _check_plausibility(settings, app.state.service)
            app.state.heavy.start(app.state.service)  # after the registry: the workers answer lookups in batches
        try:
            yield
        finally:
            app.state.heavy.close()

    app = FastAPI(
        title="ASIH area coverage and routing",
        version="1.0",
        description=(
            "Which ASIH providers may take a patient at an address, and how far (drive time) each is. "
            "Area membership and most provider bases are partly hypotheses: every answer says how sure it is. "
            "Looked-up addresses are never logged or stored."
        ),
        lifespan=lifespan,
        responses=errors(500),  # any route (_Guard); each route declares its own other errors, all one ErrorOut
        docs_url=None,  # /docs and /redoc come from vendored files (api.routes.docs, api.docs_assets), not a CDN
        redoc_url=None,
    )
    app.state.service = service
    app.state.settings = settings
    app.state.audit_problem = None
    app.state.heavy = heavy or HeavyExecutor(
        workers=settings.heavy_workers or HEAVY_WORKERS,
        queue=HEAVY_QUEUE if settings.heavy_queue is None else settings.heavy_queue,
        retry_after_s=settings.heavy_retry_after_s or RETRY_AFTER_S,
        processes=sys.platform.startswith("linux"),
    )
    if settings.cors_origins:
        app.add_middleware(CORSMiddleware, allow_origins=settings.cors_origins, allow_methods=["GET", "POST"])

    app.add_middleware(_BodyLimit, max_bytes=settings.request_max_bytes)

    app.add_middleware(_Guard)

    app.add_middleware(_ApiHeaders)
    app.add_middleware(_HeadAsGet)

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError):
        # Echo field locations and messages, never the submitted values (they may be a patient's address).
        errors = [{"loc": list(e.get("loc", ())), "msg": e.get("msg", "invalid"), "type": e.get("type")} for e in exc.errors()]
        return JSONResponse(status_code=422, content={"detail": errors})

    @app.exception_handler(Unavailable)
    async def registry_unavailable(request: Request, exc: Unavailable):
        log.warning("Registry unavailable on %s: %s", request.url.path, exc)
        return JSONResponse(status_code=503, content={"detail": UNAVAILABLE_DETAIL.format(s=exc.retry_after_s)},
                            headers={"Retry-After": str(exc.retry_after_s)})

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException):
        return JSONResponse(status_code=exc.status_code, content={"detail": exc.detail or "Error."}, headers=exc.headers)

    for module in (meta, areas, providers, lookup, coverage, web, docs, registry, whatif, scenarios, planning, docs_assets, basemap):
        app.include_router(module.router)
    return app


def _load_checked(settings: Settings) -> Service:
    """The service, after the areas and providers files passed their checks; refuses with the sentence."""
    from api.cli.checks import DataCheckError, check_data
    from core.cache import CacheError
    from core.settings import UnknownSetting

    try:
        check_data(settings)
        return Service.load(settings)
    except (DataCheckError, CacheError, UnknownSetting) as exc:
        log.error("Refusing to start: %s", exc)
        raise StartupRefused(str(exc)) from None


def _check_plausibility(settings: Settings, svc: Service) -> None:
    from api.cli.checks import DataCheckError, check_plausibility

    try:
        check_plausibility(settings, svc)
    except DataCheckError as exc:
        log.error("Refusing to start: %s", exc)
        raise StartupRefused(str(exc)) from None


class _Guard:
    """Answer an unexpected error with a sentence (500), logging its type and path only: no traceback, which could
    quote request data, reaches the log. A plain ASGI middleware (Starlette's ``BaseHTTPMiddleware`` costs a task and
    a stream per request on the lookup path)."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def tracked_send(message):
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, tracked_send)
        except Exception as exc:  # noqa: BLE001 - answered here so no traceback (with request data) is logged upstream
            log.error("Unhandled %s on %s", type(exc).__name__, scope.get("path", ""))
            if not started:
                await JSONResponse(status_code=500, content={"detail": UNEXPECTED_DETAIL})(scope, receive, send)


class _ApiHeaders:
    """``Cache-Control: no-store`` and ``X-Content-Type-Options: nosniff`` on API answers (unless a route set its
    own): a lookup answer is about a patient's address, and no answer should be sniffed as another type."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or not scope["path"].startswith(API_PREFIXES):
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message):
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                names = {name.lower() for name, _ in headers}
                if b"cache-control" not in names:
                    headers.append((b"cache-control", b"no-store"))
                if b"x-content-type-options" not in names:
                    headers.append((b"x-content-type-options", b"nosniff"))
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_headers)


class _HeadAsGet:
    """``HEAD`` wherever ``GET`` exists: the request is routed as ``GET`` and the body dropped (headers, including
    ``Content-Length``, are those of the ``GET`` answer)."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or scope["method"] != "HEAD":
            await self.app(scope, receive, send)
            return

        async def send_without_body(message):
            if message["type"] == "http.response.body":
                message = {**message, "body": b""}
            await send(message)

        await self.app({**scope, "method": "GET"}, receive, send_without_body)


class _BodyLimit:
    """Request bodies of at most ``max_bytes``: a declared larger one (``Content-Length``) is answered 413 before it
    is read, and the bytes are counted as they arrive, since a chunked upload declares no length."""

    def __init__(self, app, max_bytes: int):
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        too_large = f"Request body larger than {self.max_bytes} bytes."
        length = next((v for k, v in scope["headers"] if k == b"content-length"), None)
        if length is not None and (not length.isdigit() or int(length) > self.max_bytes):
            await JSONResponse(status_code=413, content={"detail": too_large})(scope, receive, send)
            return
        received = 0

        async def limited_receive():
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise StarletteHTTPException(413, too_large)
            return message

        await self.app(scope, limited_receive, send)
