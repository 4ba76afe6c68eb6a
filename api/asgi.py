"""ASGI entry point for uvicorn: `uvicorn api.asgi:app`, with the settings of the environment."""

from api.config import Settings
from api.main import create_app

app = create_app(Settings())
