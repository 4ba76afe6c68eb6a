"""Build the FastAPI application: the dossier API and the static pages."""

from fastapi import FastAPI
from fastapi.exceptions import RequestValidationError
from fastapi.middleware.cors import CORSMiddleware
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException

from api.config import get_settings
from api.errors import http_error_handler, request_validation_handler
from api.logging import install_redaction
from api.middleware import BodySizeLimit
from api.routers import admin, checklists, dossiers, events, health, pages


def create_app() -> FastAPI:
    """Assemble routers and pages from the current settings."""
    settings = get_settings()
    install_redaction()
    app = FastAPI(
        title="Guichet — API de suivi des dossiers",
        version="1.0.0",
        description=(
            "Suivi des demandes de permis de conduire et de carte grise, pour l'assistant "
            "Guichet. Un état n'est donné qu'avec le bon numéro et la bonne date de naissance."
        ),
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
    app.include_router(dossiers.router)
    app.include_router(events.router)
    app.include_router(checklists.router)
    app.include_router(admin.router)
    app.include_router(pages.router)
    app.mount("/", StaticFiles(directory=settings.web_dir, html=True), name="pages")
    return app
