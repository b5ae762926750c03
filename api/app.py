"""The FastAPI application: thin routes over the prepared :class:`~api.service.Service`.

Start with ``asih serve`` (uvicorn, query strings redacted from the access log) or ``create_app()`` in tests.
"""

from __future__ import annotations

import copy
import logging
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from api.privacy import install_log_redaction
from api.routes import areas, coverage, docs, lookup, meta, providers, registry, web
from api.service import Service
from geo.settings import Settings, get_settings
from registry.service import RegistryService

log = logging.getLogger("asih")
UNEXPECTED_DETAIL = "Internal error; the request was not stored."


def create_app(settings: Settings | None = None, service: Service | None = None) -> FastAPI:
    """Build the app. The service state is loaded at start-up unless ``service`` is given."""
    settings = settings or get_settings()
    install_log_redaction()

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        if getattr(app.state, "service", None) is None:
            app.state.service = Service.load(settings)
        if getattr(app.state, "registry", None) is None:
            app.state.registry = RegistryService.from_settings(settings)
        if app.state.service.live is None:
            # Free places and dated approvals in lookup answers; a copy, so a service handed in stays as it was.
            app.state.service = copy.copy(app.state.service)
            app.state.service.live = app.state.registry
        yield

    app = FastAPI(
        title="ASIH area coverage and routing",
        version="1.0",
        description=(
            "Which ASIH providers may take a patient at an address, and how far (drive time) each is. "
            "Area membership and most provider bases are partly hypotheses: every answer says how sure it is. "
            "Looked-up addresses are never logged or stored."
        ),
        lifespan=lifespan,
        docs_url=None,  # /docs is served from vendored files by api.routes.docs (works offline)
        redoc_url=None,
    )
    app.state.service = service
    app.state.settings = settings
    if settings.cors_origins:
        app.add_middleware(CORSMiddleware, allow_origins=settings.cors_origins, allow_methods=["GET", "POST"])

    app.add_middleware(_StreamedBodyLimit, max_bytes=settings.request_max_bytes)

    @app.middleware("http")
    async def guard(request: Request, call_next):
        """Reject oversized bodies; answer unexpected errors with a sentence and log their type only."""
        length = request.headers.get("content-length")
        if length is not None and (not length.isdigit() or int(length) > settings.request_max_bytes):
            return JSONResponse(
                status_code=413, content={"detail": f"Request body larger than {settings.request_max_bytes} bytes."}
            )
        try:
            return await call_next(request)
        except Exception as exc:  # noqa: BLE001 - answered here so no traceback (with request data) is logged upstream
            log.error("Unhandled %s on %s", type(exc).__name__, request.url.path)
            return JSONResponse(status_code=500, content={"detail": UNEXPECTED_DETAIL})

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError):
        # Echo field locations and messages, never the submitted values (they may be a patient's address).
        errors = [{"loc": list(e.get("loc", ())), "msg": e.get("msg", "invalid"), "type": e.get("type")} for e in exc.errors()]
        return JSONResponse(status_code=422, content={"detail": errors})

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException):
        return JSONResponse(status_code=exc.status_code, content={"detail": exc.detail or "Error."}, headers=exc.headers)

    for module in (meta, areas, providers, lookup, coverage, web, docs, registry):
        app.include_router(module.router)
    return app


class _StreamedBodyLimit:
    """Count request-body bytes as they arrive: a chunked upload has no Content-Length for ``limit_body_size``."""

    def __init__(self, app, max_bytes: int):
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        received = 0

        async def limited_receive():
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise StarletteHTTPException(413, f"Request body larger than {self.max_bytes} bytes.")
            return message

        await self.app(scope, limited_receive, send)
