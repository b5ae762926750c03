"""The app as deployed, with the registry's router (``uvicorn tests.registry.live_app:create --factory``).

Until ``api/app.py`` includes ``api.routes.registry.router`` the router is added here; once it does, the app is
served as it is.
"""

from __future__ import annotations

from api.app import create_app
from api.routes import registry as registry_routes


def create():
    app = create_app()
    if not any(getattr(route, "path", "") == "/leverantor" for route in app.routes):
        app.include_router(registry_routes.router)
    return app
