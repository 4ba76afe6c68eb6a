"""Request dependencies, as `Annotated` aliases the routers share: each reads the app's
`AppContext` (api/context.py) from `request.app.state`.

The cheap ones are `async def`: FastAPI runs a plain `def` dependency in its thread pool, and
a hop per dependency was most of a lookup's CPU time (measured by the benchmark).
"""

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.orm import Session

from api.config import Settings
from api.context import AppContext
from api.ratelimit import AttemptLimiter
from api.reference import Reference


def context_of(request: Request) -> AppContext:
    """The context of the app serving `request`."""
    return request.app.state.context


async def current_context(request: Request) -> AppContext:
    return context_of(request)


async def current_settings(request: Request) -> Settings:
    return context_of(request).settings


async def current_reference(request: Request) -> Reference:
    """The labels and delays, read once per app."""
    return context_of(request).reference


async def current_limiter(request: Request) -> AttemptLimiter:
    """The app's attempt limiter."""
    return context_of(request).limiter


def get_session(request: Request) -> Iterator[Session]:
    """One session per request, closed afterwards."""
    with context_of(request).sessionmaker() as session:
        yield session


ContextDep = Annotated[AppContext, Depends(current_context)]
SettingsDep = Annotated[Settings, Depends(current_settings)]
ReferenceDep = Annotated[Reference, Depends(current_reference)]
LimiterDep = Annotated[AttemptLimiter, Depends(current_limiter)]
SessionDep = Annotated[Session, Depends(get_session)]
