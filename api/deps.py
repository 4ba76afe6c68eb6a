"""Request dependencies, as `Annotated` aliases the routers share.

The cheap ones are `async def`: FastAPI runs a plain `def` dependency in its thread pool, and
a hop per dependency was most of a lookup's CPU time (measured by the benchmark).
"""

from typing import Annotated

from fastapi import Depends
from sqlalchemy.orm import Session

from api.config import Settings, get_settings
from api.db import get_session
from api.ratelimit import AttemptLimiter, get_limiter
from api.reference import Reference, get_reference


async def current_settings() -> Settings:
    """The cached settings (tests clear the cache to change them)."""
    return get_settings()


async def current_reference() -> Reference:
    """The cached labels and delays."""
    return get_reference()


async def current_limiter() -> AttemptLimiter:
    """The process-wide attempt limiter."""
    return get_limiter()


SettingsDep = Annotated[Settings, Depends(current_settings)]
ReferenceDep = Annotated[Reference, Depends(current_reference)]
LimiterDep = Annotated[AttemptLimiter, Depends(current_limiter)]
SessionDep = Annotated[Session, Depends(get_session)]
