"""Build the FastAPI application: the dossier API, the chat door and the static pages.

`create_app(settings)` is the only place that wires them: it builds one `AppContext`
(api/context.py) on `app.state.context`; the lifespan adds the chat door and runs the
retention job. `api/asgi.py` builds the app of `Settings()`; tests build one per configuration.
"""

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable

import httpx
from fastapi import FastAPI
from fastapi.exceptions import RequestValidationError
from fastapi.middleware.cors import CORSMiddleware
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException

from api.chat_door import ChatDoor
from api.config import Settings
from api.context import AppContext
from api.errors import http_error_handler, request_validation_handler
from api.logging import install_redaction
from api.middleware import BodySizeLimit
from api.retention import retention_loop
from api.routers import admin, chat, checklists, dossiers, events, health


def build_lifespan(
    context: AppContext, rasa_transport: httpx.AsyncBaseTransport | None = None
) -> Callable[[FastAPI], contextlib.AbstractAsyncContextManager[None]]:
    """One chat door (its HTTP client to Rasa, its limits) and the retention job per app."""

    @contextlib.asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        settings = context.settings
        door = context.chat_door = ChatDoor(settings, transport=rasa_transport)
        retention = asyncio.create_task(retention_loop(settings, context.limiter))
        try:
            yield
        finally:
            retention.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await retention
            context.chat_door = None
            await door.close()
            context.dispose()

    return lifespan


def create_app(
    settings: Settings | None = None, *, rasa_transport: httpx.AsyncBaseTransport | None = None
) -> FastAPI:
    """Assemble routers and pages for `settings` (by default, those of the environment).

    `rasa_transport` replaces the network between the chat door and Rasa (tests only).
    """
    settings = settings if settings is not None else Settings()
    context = AppContext.build(settings)
    install_redaction()
    development = settings.env == "development"
    app = FastAPI(
        title="Guichet — API de suivi des dossiers",
        version="1.0.0",
        description=(
            "Suivi des demandes de permis de conduire et de carte grise, pour l'assistant "
            "Guichet. Un état n'est donné qu'avec le bon numéro et la bonne date de naissance."
        ),
        lifespan=build_lifespan(context, rasa_transport),
        # The schema and its pages show every door: in development only.
        docs_url="/docs" if development else None,
        redoc_url="/redoc" if development else None,
        openapi_url="/openapi.json" if development else None,
    )
    app.state.context = context
    app.add_middleware(
        CORSMiddleware,
        allow_origins=settings.cors_origins,
        allow_methods=["GET", "POST"],
        allow_headers=["Authorization", "Content-Type"],
    )
    # Outermost: an oversized body is refused before anything reads it.
    app.add_middleware(BodySizeLimit, max_bytes=settings.max_body_bytes)
    app.add_exception_handler(RequestValidationError, request_validation_handler)
    app.add_exception_handler(StarletteHTTPException, http_error_handler)
    app.include_router(health.router)
    app.include_router(chat.router)
    app.include_router(dossiers.router)
    app.include_router(events.router)
    app.include_router(checklists.router)
    app.include_router(admin.router)
    app.mount("/", StaticFiles(directory=settings.web_dir, html=True), name="pages")
    return app
