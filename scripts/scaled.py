"""The scaled layout on one machine: `make run-scaled` (`python -m scripts.services --scaled`).

`prepare` checks that the local PostgreSQL and Redis answer, creates the layout's database when
it is missing, and returns the environment that switches Guichet to them: the API and Rasa's
tracker store on PostgreSQL, Rasa's lock store and the API's limits on Redis, two Rasa
processes, two API workers, two action server workers. Nothing else differs from `make run`:
the same code, configured (docs/scaling.md). Every value of `DEFAULTS` can be overridden in
the environment or .env: GUICHET_SCALED_PG_URL is a server (its `postgres` database is used to
create GUICHET_SCALED_DATABASE), GUICHET_SCALED_REDIS_DB the Redis database index.
"""

import re
from collections.abc import Callable
from urllib.parse import urlsplit, urlunsplit

import psycopg
import redis
from psycopg import sql
from sqlalchemy import make_url

from scripts.services import StackError

DEFAULTS = {
    "GUICHET_SCALED_PG_URL": "postgresql://postgres@127.0.0.1:5432",
    "GUICHET_SCALED_DATABASE": "guichet_scaled",
    "GUICHET_SCALED_REDIS_URL": "redis://127.0.0.1:6379",
    "GUICHET_SCALED_REDIS_DB": "1",
    "GUICHET_RASA_PROCESSES": "2",
    "SANIC_WORKERS": "1",
    "GUICHET_API_WORKERS": "2",
    "ACTION_SERVER_SANIC_WORKERS": "2",
}
_DATABASE_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


def _setting(env: dict[str, str], name: str) -> str:
    return env.get(name) or DEFAULTS[name]


def database_urls(server_url: str, database: str) -> tuple[str, str, str]:
    """(admin, API, Rasa) URLs of `database` on the server: psycopg (3) for the API,
    psycopg2 (plain postgresql://) for Rasa's SQLAlchemy 1.4."""
    if not _DATABASE_NAME.match(database):
        raise StackError(
            f"GUICHET_SCALED_DATABASE={database!r} : lettres minuscules, chiffres et _ "
            "seulement. / Use lower-case letters, digits and _ only."
        )
    server = make_url(server_url)
    if server.get_backend_name() != "postgresql":
        raise StackError(
            "GUICHET_SCALED_PG_URL doit commencer par postgresql:// "
            "/ GUICHET_SCALED_PG_URL must start with postgresql://"
        )

    def render(driver: str, name: str) -> str:
        return server.set(drivername=driver, database=name).render_as_string(hide_password=False)

    return (
        render("postgresql", "postgres"),
        render("postgresql+psycopg", database),
        render("postgresql", database),
    )


def redis_url(server_url: str, index: str) -> str:
    if not index.isdigit():
        raise StackError(
            f"GUICHET_SCALED_REDIS_DB={index!r} : un numéro de base Redis est attendu (0-15). "
            "/ A Redis database number is expected."
        )
    return urlunsplit(urlsplit(server_url)._replace(path=f"/{index}"))


def _shown(url: str) -> str:
    """A URL as it may be printed: without its password."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
    return urlunsplit(parts._replace(netloc=netloc))


def ensure_database(admin_url: str, database: str) -> bool:
    """Create `database` unless it exists; return whether it was created."""
    try:
        with psycopg.connect(admin_url, autocommit=True, connect_timeout=3) as connection:
            exists = connection.execute(
                "SELECT 1 FROM pg_database WHERE datname = %s", (database,)
            ).fetchone()
            if exists:
                return False
            connection.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(database)))
            return True
    except psycopg.OperationalError as error:
        reason = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise StackError(
            f"PostgreSQL ne répond pas à {_shown(admin_url)} ({reason}). Démarrez-le (par "
            "exemple `sudo systemctl start postgresql`) ou indiquez un autre serveur dans "
            "GUICHET_SCALED_PG_URL. / PostgreSQL is not reachable: start it or set "
            "GUICHET_SCALED_PG_URL."
        ) from error
    except psycopg.Error as error:
        raise StackError(
            f"PostgreSQL refuse de créer la base {database} ({type(error).__name__}) : "
            "l'utilisateur doit avoir le droit CREATEDB, ou créez-la vous-même. "
            f"/ PostgreSQL would not create the database {database}: grant CREATEDB or "
            "create it yourself."
        ) from error


def check_redis(url: str) -> None:
    try:
        client = redis.Redis.from_url(url, socket_connect_timeout=3, socket_timeout=3)
        try:
            client.ping()
        finally:
            client.close()
    except redis.RedisError as error:
        raise StackError(
            f"Redis ne répond pas à {_shown(url)} ({type(error).__name__}: {error}). "
            "Démarrez-le (par exemple `sudo systemctl start redis-server`) ou indiquez un autre "
            "serveur dans GUICHET_SCALED_REDIS_URL. / Redis is not reachable: start it or set "
            "GUICHET_SCALED_REDIS_URL."
        ) from error


def prepare(env: dict[str, str], report: Callable[[str], object] = print) -> dict[str, str]:
    """Check the services, create the database if needed, return the scaled environment."""
    database = _setting(env, "GUICHET_SCALED_DATABASE")
    admin, api_url, tracker_url = database_urls(_setting(env, "GUICHET_SCALED_PG_URL"), database)
    lock_url = redis_url(
        _setting(env, "GUICHET_SCALED_REDIS_URL"), _setting(env, "GUICHET_SCALED_REDIS_DB")
    )
    created = ensure_database(admin, database)
    check_redis(lock_url)
    report(
        f"[run] Disposition répartie : PostgreSQL {_shown(tracker_url)}"
        f"{' (base créée)' if created else ''}, Redis {_shown(lock_url)}."
    )
    counts = {
        name: _setting(env, name)
        for name in (
            "GUICHET_RASA_PROCESSES",
            "SANIC_WORKERS",
            "GUICHET_API_WORKERS",
            "ACTION_SERVER_SANIC_WORKERS",
        )
    }
    return {
        **env,
        **counts,
        "DATABASE_URL": api_url,
        "GUICHET_TRACKER_DB_URL": tracker_url,
        "GUICHET_LOCK_STORE_URL": lock_url,
        # The door's and the lookup's limits, shared by the API workers.
        "GUICHET_REDIS_URL": lock_url,
    }
