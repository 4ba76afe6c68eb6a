"""What one API process shares between requests, built once from its settings.

`create_app(settings)` builds an `AppContext` and puts it on `app.state.context`; request
dependencies (api/deps.py) read from there. Two apps built from two settings share nothing,
which is how tests run one configuration each.
"""

from dataclasses import dataclass

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from api.chat_door import ChatDoor
from api.config import Settings
from api.db import make_engine, make_sessionmaker
from api.ratelimit import AttemptLimiter, build_limiter
from api.reference import Reference, load_reference


@dataclass
class AppContext:
    """The settings, the database engines, the attempt limiter, the reference, the chat door."""

    settings: Settings
    engine: Engine
    # The attempt counters' engine has its own pool: a lookup holds a connection of `engine`
    # while it records its attempt; were both drawn from one pool, a burst of lookups could
    # take every connection and then wait for one forever.
    counter_engine: Engine
    sessionmaker: sessionmaker[Session]
    limiter: AttemptLimiter
    reference: Reference
    # Built in the app's lifespan (it owns an HTTP client to Rasa): None until the app starts.
    chat_door: ChatDoor | None = None

    @classmethod
    def build(cls, settings: Settings) -> "AppContext":
        """Everything but the chat door. Engines connect lazily: nothing is opened yet."""
        engine = make_engine(settings.database_url)
        counter_engine = make_engine(settings.database_url, durable_commits=False)
        return cls(
            settings=settings,
            engine=engine,
            counter_engine=counter_engine,
            sessionmaker=make_sessionmaker(engine),
            limiter=build_limiter(settings, counter_engine),
            reference=load_reference(settings.catalogue_path, settings.delais_normaux_jours),
        )

    def dispose(self) -> None:
        """Close the engines' pooled connections (they reopen if used again)."""
        self.engine.dispose()
        self.counter_engine.dispose()
