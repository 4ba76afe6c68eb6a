"""Build the FastAPI application: the dossier API, the chat door and the static pages."""

import asyncio
import contextlib
from collections.abc import AsyncIterator

import httpx
from fastapi import FastAPI
from fastapi.exceptions import RequestValidationError
from fastapi.middleware.cors import CORSMiddleware
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException

from api.chat_door import ChatDoor
from api.config import get_settings
from api.errors import http_error_handler, request_validation_handler
from api.logging import install_redaction
from api.middleware import BodySizeLimit
from api.retention import retention_loop
from api.routers import admin, chat, checklists, dossiers, events, health


def build_lifespan(rasa_transport: httpx.AsyncBaseTransport | None = None):  # type: ignore[no-untyped-def]
    """One chat door (its HTTP client to Rasa, its limits) and the retention job per process."""

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        settings = get_settings()
        app.state.chat_door = ChatDoor(settings, transport=rasa_transport)
        retention = asyncio.create_task(retention_loop(settings))
        try:
            yield
        finally:
            retention.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await retention
            await app.state.chat_door.close()

    return lifespan


def create_app(rasa_transport: httpx.AsyncBaseTransport | None = None) -> FastAPI:
    """Assemble routers and pages from the current settings.

    `rasa_transport` replaces the network between the chat door and Rasa (tests only).
    """
    settings = get_settings()
    install_redaction()
    development = settings.env == "development"
    app = FastAPI(
        title="Guichet — API de suivi des dossiers",
        version="1.0.0",
        description=(
            "Suivi des demandes de permis de conduire et de carte grise, pour l'assistant "
            "Guichet. Un état n'est donné qu'avec le bon numéro et la bonne date de naissance."
        ),
        lifespan=build_lifespan(rasa_transport),
        # The schema and its pages show every door: in development only.
        docs_url="/docs" if development else None,
        redoc_url="/redoc" if development else None,
        openapi_url="/openapi.json" if development else None,
    )
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
