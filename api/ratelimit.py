"""Attempt limits shared by every API worker: in the database by default, in Redis if set.

Two limits guard the lookup:
- per client, a fixed one-minute window caps the lookups;
- per number, a verification must first take one of `max_failures` slots of the window. A
  successful verification gives its slot back; a failed one keeps it and counts as a failure.
  The failure that reaches `max_failures` locks the number for `lock_seconds`. Taking a slot is
  one atomic step, so parallel wrong tries cannot verify more dates than the limit allows.

Unknown and known numbers go through exactly the same steps.
"""

import math
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import lru_cache
from typing import Literal, Protocol

from redis import Redis
from sqlalchemy import Engine, delete, text

from api.config import Settings, get_settings
from api.db import get_counter_engine
from api.models import AttemptCounter

Clock = Callable[[], float]


@dataclass(frozen=True)
class Limits:
    """The configured limits."""

    client_per_minute: int
    max_failures: int
    failure_window_seconds: int
    lock_seconds: int

    @classmethod
    def from_settings(cls, settings: Settings) -> "Limits":
        return cls(
            client_per_minute=settings.lookup_client_per_minute,
            max_failures=settings.lookup_max_failures,
            failure_window_seconds=settings.lookup_failure_window_seconds,
            lock_seconds=settings.lookup_lock_seconds,
        )


@dataclass(frozen=True)
class Denial:
    """Why a lookup may not go on, and for how many seconds."""

    reason: Literal["client", "numero"]
    retry_after: int


@dataclass(frozen=True)
class Lock:
    """A lock this failure has just created."""

    failures: int
    locked_until: float


class AttemptLimiter(Protocol):
    """What the lookup needs from a limiter backend."""

    def begin(self, client: str, numero: str) -> Denial | None:
        """Count the client's lookup and take a verification slot for `numero`."""

    def finish(self, numero: str, verified: bool) -> Lock | None:
        """Give the slot back, or count the failure and return the lock it created."""

    def forget(self, numeros: Iterable[str]) -> None:
        """Drop the counters and locks of `numeros` (demo reset)."""


def _seconds(delta: float) -> int:
    return max(1, math.ceil(delta))


def client_subject(client: str) -> str:
    return f"client:{client}"


def numero_subject(numero: str) -> str:
    return f"numero:{numero}"


# SQLite and PostgreSQL share this upsert syntax. In DO UPDATE SET, `t.` columns are the stored
# row's values; every SET expression sees them as they were before the statement.
_CLIENT_HIT = text("""
INSERT INTO attempt_counters AS t (subject, attempts, failures, window_ends, locked_until)
VALUES (:subject, 1, 0, :now + 60, NULL)
ON CONFLICT (subject) DO UPDATE SET
  attempts = CASE WHEN t.window_ends <= :now THEN 1 ELSE t.attempts + 1 END,
  window_ends = CASE WHEN t.window_ends <= :now THEN :now + 60 ELSE t.window_ends END
RETURNING attempts, window_ends
""")
# A row is "fresh" when its window is over and it is not locked: it starts a new window.
_TAKE_SLOT = text("""
INSERT INTO attempt_counters AS t (subject, attempts, failures, window_ends, locked_until)
VALUES (:subject, 1, 0, :now + :window, NULL)
ON CONFLICT (subject) DO UPDATE SET
  attempts = CASE
    WHEN t.window_ends <= :now AND (t.locked_until IS NULL OR t.locked_until <= :now) THEN 1
    WHEN t.locked_until > :now THEN t.attempts
    ELSE t.attempts + 1 END,
  failures = CASE
    WHEN t.window_ends <= :now AND (t.locked_until IS NULL OR t.locked_until <= :now) THEN 0
    ELSE t.failures END,
  window_ends = CASE
    WHEN t.window_ends <= :now AND (t.locked_until IS NULL OR t.locked_until <= :now)
    THEN :now + :window ELSE t.window_ends END,
  locked_until = CASE
    WHEN t.window_ends <= :now AND (t.locked_until IS NULL OR t.locked_until <= :now) THEN NULL
    ELSE t.locked_until END
RETURNING attempts, window_ends, locked_until
""")
_GIVE_BACK_OVERFLOW = text(
    "UPDATE attempt_counters SET attempts = attempts - 1"
    " WHERE subject = :subject AND attempts > :max"
)
_GIVE_BACK = text(
    "UPDATE attempt_counters SET attempts = attempts - 1 WHERE subject = :subject AND attempts > 0"
)
_FAIL = text("""
UPDATE attempt_counters SET
  failures = failures + 1,
  locked_until = CASE WHEN failures + 1 >= :max THEN :now + :lock ELSE locked_until END,
  window_ends = CASE WHEN failures + 1 >= :max THEN :now + :lock ELSE window_ends END
WHERE subject = :subject
RETURNING failures, locked_until
""")


class DatabaseLimiter:
    """Counters in the `attempt_counters` table, each change one atomic statement."""

    def __init__(self, engine: Engine, limits: Limits, clock: Clock = time.time) -> None:
        # Each statement commits alone: a hot row (one client's counter) is locked for the
        # statement only, never across a round trip or a wait for the GIL.
        self._engine = engine.execution_options(isolation_level="AUTOCOMMIT")
        self._limits = limits
        self._clock = clock

    def begin(self, client: str, numero: str) -> Denial | None:
        now, limits = self._clock(), self._limits
        with self._engine.connect() as connection:
            attempts, window_ends = connection.execute(
                _CLIENT_HIT, {"subject": client_subject(client), "now": now}
            ).one()
            if attempts > limits.client_per_minute:
                return Denial("client", _seconds(window_ends - now))
            subject = numero_subject(numero)
            attempts, window_ends, locked_until = connection.execute(
                _TAKE_SLOT,
                {"subject": subject, "now": now, "window": limits.failure_window_seconds},
            ).one()
            if locked_until is not None and locked_until > now:
                return Denial("numero", _seconds(locked_until - now))
            if attempts > limits.max_failures:
                # Every slot is taken by verifications under way: give this one back.
                connection.execute(
                    _GIVE_BACK_OVERFLOW, {"subject": subject, "max": limits.max_failures}
                )
                return Denial("numero", _seconds(window_ends - now))
        return None

    def finish(self, numero: str, verified: bool) -> Lock | None:
        subject, limits = numero_subject(numero), self._limits
        with self._engine.connect() as connection:
            if verified:
                connection.execute(_GIVE_BACK, {"subject": subject})
                return None
            row = connection.execute(
                _FAIL,
                {
                    "subject": subject,
                    "now": self._clock(),
                    "max": limits.max_failures,
                    "lock": limits.lock_seconds,
                },
            ).one_or_none()
        if row is not None and row.failures == limits.max_failures:
            return Lock(failures=row.failures, locked_until=row.locked_until)
        return None

    def forget(self, numeros: Iterable[str]) -> None:
        subjects = [numero_subject(numero) for numero in numeros]
        with self._engine.begin() as connection:
            connection.execute(delete(AttemptCounter).where(AttemptCounter.subject.in_(subjects)))


# Same rules as DatabaseLimiter, as Lua scripts: Redis runs each one atomically.
_BEGIN_LUA = """
local now = tonumber(ARGV[1])
local function load(key)
  local v = redis.call('HMGET', key, 'attempts', 'failures', 'window_ends', 'locked_until')
  return tonumber(v[1]) or 0, tonumber(v[2]) or 0, tonumber(v[3]) or 0, tonumber(v[4]) or 0
end
local ca, _, cw = load(KEYS[1])
if cw <= now then ca = 0; cw = now + 60 end
ca = ca + 1
redis.call('HSET', KEYS[1], 'attempts', ca, 'window_ends', tostring(cw))
redis.call('EXPIRE', KEYS[1], math.ceil(cw - now) + 1)
if ca > tonumber(ARGV[2]) then return {'client', tostring(cw - now)} end
local a, f, w, l = load(KEYS[2])
if l > now then return {'numero', tostring(l - now)} end
if w <= now then a = 0; f = 0; w = now + tonumber(ARGV[4]); l = 0 end
if a >= tonumber(ARGV[3]) then return {'numero', tostring(w - now)} end
redis.call('HSET', KEYS[2], 'attempts', a + 1, 'failures', f,
           'window_ends', tostring(w), 'locked_until', tostring(l))
redis.call('EXPIRE', KEYS[2], math.ceil(w - now) + 1)
return {'ok', '0'}
"""
_FINISH_LUA = """
if redis.call('EXISTS', KEYS[1]) == 0 then return {'0', '0'} end
if ARGV[2] == '1' then
  if (tonumber(redis.call('HGET', KEYS[1], 'attempts')) or 0) > 0 then
    redis.call('HINCRBY', KEYS[1], 'attempts', -1)
  end
  return {'0', '0'}
end
local f = redis.call('HINCRBY', KEYS[1], 'failures', 1)
if f >= tonumber(ARGV[3]) then
  local l = tonumber(ARGV[1]) + tonumber(ARGV[4])
  redis.call('HSET', KEYS[1], 'locked_until', tostring(l), 'window_ends', tostring(l))
  redis.call('EXPIRE', KEYS[1], math.ceil(tonumber(ARGV[4])) + 1)
  return {tostring(f), tostring(l)}
end
return {tostring(f), '0'}
"""


class RedisLimiter:
    """Counters in Redis hashes that expire with their window."""

    def __init__(
        self, client: Redis, limits: Limits, clock: Clock = time.time, prefix: str = "guichet"
    ) -> None:
        self._redis = client
        self._limits = limits
        self._clock = clock
        self._prefix = prefix
        self._begin = client.register_script(_BEGIN_LUA)
        self._finish = client.register_script(_FINISH_LUA)

    def key(self, subject: str) -> str:
        return f"{self._prefix}:limits:{subject}"

    def begin(self, client: str, numero: str) -> Denial | None:
        limits = self._limits
        reason, seconds = self._begin(
            keys=[self.key(client_subject(client)), self.key(numero_subject(numero))],
            args=[
                repr(self._clock()),
                limits.client_per_minute,
                limits.max_failures,
                limits.failure_window_seconds,
            ],
        )
        if reason == b"ok":
            return None
        return Denial(reason.decode(), _seconds(float(seconds)))  # type: ignore[arg-type]

    def finish(self, numero: str, verified: bool) -> Lock | None:
        failures, locked_until = self._finish(
            keys=[self.key(numero_subject(numero))],
            args=[
                repr(self._clock()),
                "1" if verified else "0",
                self._limits.max_failures,
                self._limits.lock_seconds,
            ],
        )
        if int(failures) == self._limits.max_failures:
            return Lock(failures=int(failures), locked_until=float(locked_until))
        return None

    def forget(self, numeros: Iterable[str]) -> None:
        keys = [self.key(numero_subject(numero)) for numero in numeros]
        if keys:
            self._redis.delete(*keys)


def build_limiter(settings: Settings, clock: Clock = time.time) -> AttemptLimiter:
    """The backend the settings choose: Redis when GUICHET_REDIS_URL is set."""
    limits = Limits.from_settings(settings)
    if settings.redis_url:
        return RedisLimiter(
            Redis.from_url(settings.redis_url), limits, clock, prefix=settings.redis_prefix
        )
    return DatabaseLimiter(get_counter_engine(), limits, clock)


@lru_cache
def get_limiter() -> AttemptLimiter:
    """Return the process-wide limiter of the configured backend."""
    return build_limiter(get_settings())
