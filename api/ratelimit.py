"""Attempt limits of the dossier lookup, shared by every API worker (see docs/limits.md).

Who asks is an `Asker`: an opaque address (the chat door's keyed hash of the person's edge
address, or the caller's own address) and, when known, the conversation. The limits:

a. lookups per asker address per minute, and
b. lookups per conversation per minute: moving windows of the `limits` library, in memory or,
   when GUICHET_REDIS_URL is set, in Redis;
c. per (asker, number): `free_failures` wrong dates, then a delay before that asker's next try
   of that number, from `first_delay_seconds`, doubling, at most `max_delay_seconds`. A right
   date clears it; it is forgotten `failure_memory_seconds` after its last wrong date;
d. per asker, across numbers: at most `asker_max_failures` wrong dates per window;
e. per number, across askers: at `numero_attack_failures` wrong dates in a window the number is
   under attack, until `failure_memory_seconds` after its last wrong date. Meanwhile an asker
   that already failed on it is refused, and one that never did gets one try at a time: what
   others do never stops the owner with the right date.

A verification first takes a slot of its (asker, number) counter (as many as free wrong dates
are left, else one) and of its asker counter (as many as wrong dates are left); a failure keeps
it as a wrong date, anything else gives it back. Each step reads and writes the counters in one
atomic operation of the store, so parallel wrong tries verify no more dates than allowed.

The rules live once, in `decide_begin` and `decide_finish`: pure functions of the counters. A
store (`DatabaseStore`: SQLite or PostgreSQL; `RedisStore`) only reads, locks and writes them.
Counters are keyed by keyed hashes (HMAC-SHA256 with the server key), never by a number or an
address in clear, and expire: Redis drops its keys itself, `purge_expired` deletes the rest.
Unknown and known numbers go through exactly the same steps.
"""

import hashlib
import hmac
import math
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from functools import lru_cache
from typing import Literal, Protocol, TypeVar

from limits import RateLimitItemPerMinute
from limits.storage import MemoryStorage, RedisStorage, Storage
from limits.strategies import MovingWindowRateLimiter
from redis import Redis, WatchError
from sqlalchemy import Connection, Engine, TextClause, delete, or_, text

from api.config import Settings
from api.models import AttemptCounter

Clock = Callable[[], float]
T = TypeVar("T")

# A slot not given back (a worker that died while verifying) is free again after this long:
# longer than any verification may take (SQLite waits up to 30 s for a lock).
SLOT_SECONDS = 60.0
# What a refused try should wait when it was refused only because others are under way.
BUSY_SECONDS = 1


@dataclass(frozen=True)
class Limits:
    """The configured limits (GUICHET_LOOKUP_* settings)."""

    asker_per_minute: int = 30
    conversation_per_minute: int = 10
    free_failures: int = 3
    first_delay_seconds: int = 60
    max_delay_seconds: int = 3600
    asker_max_failures: int = 20
    numero_attack_failures: int = 30
    failure_memory_seconds: int = 86_400

    @classmethod
    def from_settings(cls, settings: Settings) -> "Limits":
        return cls(
            asker_per_minute=settings.lookup_asker_per_minute,
            conversation_per_minute=settings.lookup_conversation_per_minute,
            free_failures=settings.lookup_free_failures,
            first_delay_seconds=settings.lookup_first_delay_seconds,
            max_delay_seconds=settings.lookup_max_delay_seconds,
            asker_max_failures=settings.lookup_asker_max_failures,
            numero_attack_failures=settings.lookup_numero_attack_failures,
            failure_memory_seconds=settings.lookup_failure_memory_seconds,
        )

    def delay_after(self, failures: int) -> int:
        """Seconds one asker waits before trying a number again after `failures` wrong dates."""
        beyond = failures - self.free_failures
        if beyond < 0:
            return 0
        return min(self.max_delay_seconds, self.first_delay_seconds * 2 ** min(beyond, 32))


@dataclass(frozen=True)
class Asker:
    """Who asks: an opaque address and, when known, the conversation."""

    address: str
    conversation: str | None = None


Reason = Literal["asker_rate", "conversation_rate", "delay", "attack", "busy", "asker_failures"]


@dataclass(frozen=True)
class Denial:
    """Why a lookup may not go on, and for how many seconds."""

    reason: Reason
    retry_after: int


@dataclass(frozen=True)
class Subjects:
    """The counters of one lookup, each a keyed hash."""

    pair: str
    asker: str
    numero: str
    conversation: str | None


@dataclass(frozen=True)
class Ticket:
    """A verification allowed by `begin`: hand it to `finish` (or `release`).

    Callers use `AttemptLimiter.attempt`, which does so whatever happens."""

    subjects: Subjects


@dataclass(frozen=True)
class Attack:
    """The wrong date that has just put a number under attack."""

    failures: int
    strict_until: float


@dataclass(frozen=True)
class Counter:
    """One counter; every time is epoch seconds and 0 means "none"."""

    failures: int = 0
    window_ends: float = 0.0
    pending: int = 0
    pending_until: float = 0.0
    blocked_until: float = 0.0

    def at(self, now: float) -> "Counter":
        """The counter without what is over at `now`."""
        window = self.window_ends > now
        pending = self.pending_until > now
        return Counter(
            failures=self.failures if window else 0,
            window_ends=self.window_ends if window else 0.0,
            pending=self.pending if pending else 0,
            pending_until=self.pending_until if pending else 0.0,
            blocked_until=self.blocked_until if self.blocked_until > now else 0.0,
        )

    @property
    def expires_at(self) -> float:
        """When nothing of it is left."""
        return max(self.window_ends, self.pending_until, self.blocked_until)

    def take_slot(self, now: float) -> "Counter":
        return replace(self, pending=self.pending + 1, pending_until=now + SLOT_SECONDS)

    def give_slot_back(self) -> "Counter":
        pending = max(0, self.pending - 1)
        return replace(self, pending=pending, pending_until=self.pending_until if pending else 0.0)

    def fail(self, now: float, memory: float, *, rolling: bool) -> "Counter":
        """Count a wrong date: the window starts with the first one, or with each if rolling."""
        window_ends = now + memory if rolling or not self.window_ends else self.window_ends
        return replace(self, failures=self.failures + 1, window_ends=window_ends)


def _seconds(delta: float) -> int:
    return max(1, math.ceil(delta))


def decide_begin(
    limits: Limits, now: float, pair: Counter, asker: Counter, numero: Counter
) -> tuple[Denial | None, Counter, Counter]:
    """May this asker verify a date for this number now? If so, take the slots."""
    pair, asker, numero = pair.at(now), asker.at(now), numero.at(now)
    under_attack = numero.blocked_until > 0
    if under_attack and pair.failures:
        end = min(numero.blocked_until, pair.window_ends)
        return Denial("attack", _seconds(end - now)), pair, asker
    if pair.blocked_until:
        return Denial("delay", _seconds(pair.blocked_until - now)), pair, asker
    slots = 1 if under_attack else max(1, limits.free_failures - pair.failures)
    if pair.pending >= slots:
        return Denial("busy", BUSY_SECONDS), pair, asker
    if asker.failures >= limits.asker_max_failures:
        return Denial("asker_failures", _seconds(asker.window_ends - now)), pair, asker
    if asker.failures + asker.pending >= limits.asker_max_failures:
        return Denial("busy", BUSY_SECONDS), pair, asker
    return None, pair.take_slot(now), asker.take_slot(now)


def decide_finish(
    limits: Limits, now: float, pair: Counter, asker: Counter, numero: Counter, verified: bool
) -> tuple[Counter, Counter, Counter, Attack | None]:
    """Give the slots back; a wrong date is counted everywhere, a right one clears the pair."""
    pair, asker = pair.at(now).give_slot_back(), asker.at(now).give_slot_back()
    numero = numero.at(now)
    if verified:
        cleared = Counter(pending=pair.pending, pending_until=pair.pending_until)
        return cleared, asker, numero, None
    memory = limits.failure_memory_seconds
    pair = pair.fail(now, memory, rolling=True)
    delay = limits.delay_after(pair.failures)
    if delay:
        pair = replace(pair, blocked_until=now + delay)
    asker = asker.fail(now, memory, rolling=False)
    was_under_attack = numero.blocked_until > 0
    numero = numero.fail(now, memory, rolling=False)
    if was_under_attack or numero.failures >= limits.numero_attack_failures:
        # Each wrong date during an attack pushes its end back.
        numero = replace(numero, blocked_until=now + memory)
    attack = None
    if numero.blocked_until and not was_under_attack:
        attack = Attack(numero.failures, numero.blocked_until)
    return pair, asker, numero, attack


class Keyer:
    """Keyed hashes of what is counted: the store never sees a number or an address."""

    def __init__(self, key: str) -> None:
        self._key = key.encode()

    def _hash(self, kind: str, value: str) -> str:
        message = f"{kind}\x00{value}".encode()
        return hmac.new(self._key, message, hashlib.sha256).hexdigest()[:24]

    def subjects(self, asker: Asker, numero: str) -> Subjects:
        a, n = self._hash("asker", asker.address), self._hash("numero", numero)
        conversation = (
            f"c:{self._hash('conversation', asker.conversation)}" if asker.conversation else None
        )
        return Subjects(
            pair=f"p:{n}:{a}", asker=f"a:{a}", numero=f"n:{n}", conversation=conversation
        )

    def numero_subjects(self, numero: str) -> tuple[str, str]:
        """The number's own counter, and the prefix of its (asker, number) counters."""
        n = self._hash("numero", numero)
        return f"n:{n}", f"p:{n}:"


Change = Callable[[Mapping[str, Counter]], tuple[T, Mapping[str, Counter]]]


class CounterStore(Protocol):
    """Where counters live; `update` is one atomic read-modify-write."""

    def update(self, now: float, write: Sequence[str], read: Sequence[str], change: Change[T]) -> T:
        """Read the counters of `write` and `read` (absent: empty), call `change`, and store
        what it returns for the subjects of `write`, all as one atomic step. A counter that is
        over at `now` is deleted."""

    def forget(self, subject: str, prefix: str) -> None:
        """Delete the counter `subject` and every counter whose subject starts with `prefix`."""

    def purge(self, now: float) -> int:
        """Delete the counters over at `now`; return how many."""


def _writes(
    now: float, write: Sequence[str], before: Mapping[str, Counter], after: Mapping[str, Counter]
) -> tuple[list[str], dict[str, Counter]]:
    """What to delete and what to store after a change."""
    deletions, upserts = [], {}
    for subject in write:
        old = before[subject]
        new = after.get(subject, old)
        if new.expires_at <= now:
            # Also a row the database store created only to lock it.
            deletions.append(subject)
        elif new != old:
            upserts[subject] = new
    return deletions, upserts


_FIELDS = ("failures", "window_ends", "pending", "pending_until", "blocked_until")
_ROW_FIELDS = (*_FIELDS, "expires_at")


def _values(counter: Counter) -> dict[str, float | int]:
    """What is stored of a counter, but its subject."""
    values: dict[str, float | int] = {name: getattr(counter, name) for name in _FIELDS}
    values["expires_at"] = counter.expires_at
    return values


# The statements of the database store, one per number of subjects (one to three), built once.
# SQLite and PostgreSQL share this syntax. Plain SQL: building and compiling an ORM upsert of
# several rows took most of a lookup's CPU time.
_RETURNED = ", ".join(("subject", *_FIELDS))


def _placeholders(count: int, fields: tuple[str, ...] = ()) -> str:
    rows = [
        ", ".join([f":subject{i}", *(f":{field}{i}" for field in fields)]) for i in range(count)
    ]
    return ", ".join(f"({row})" for row in rows)


@lru_cache
def _lock_statement(count: int) -> TextClause:
    # A no-op update: it creates a missing row, row-locks it (PostgreSQL) and returns it.
    zeros = ", ".join(["0"] * len(_ROW_FIELDS))
    values = ", ".join(f"(:subject{i}, {zeros})" for i in range(count))
    return text(
        f"INSERT INTO attempt_counters (subject, {', '.join(_ROW_FIELDS)}) VALUES {values}"
        " ON CONFLICT (subject) DO UPDATE SET failures = attempt_counters.failures"
        f" RETURNING {_RETURNED}"
    )


@lru_cache
def _read_statement(count: int) -> TextClause:
    subjects = ", ".join(f":subject{i}" for i in range(count))
    return text(f"SELECT {_RETURNED} FROM attempt_counters WHERE subject IN ({subjects})")


@lru_cache
def _upsert_statement(count: int) -> TextClause:
    updates = ", ".join(f"{field} = excluded.{field}" for field in _ROW_FIELDS)
    rows = (
        ", ".join([f":subject{i}", *(f":{field}{i}" for field in _ROW_FIELDS)])
        for i in range(count)
    )
    values = ", ".join(f"({row})" for row in rows)
    return text(
        f"INSERT INTO attempt_counters (subject, {', '.join(_ROW_FIELDS)}) VALUES {values}"
        f" ON CONFLICT (subject) DO UPDATE SET {updates}"
    )


@lru_cache
def _delete_statement(count: int) -> TextClause:
    subjects = ", ".join(f":subject{i}" for i in range(count))
    return text(f"DELETE FROM attempt_counters WHERE subject IN ({subjects})")


def _subject_params(subjects: Sequence[str]) -> dict[str, str]:
    return {f"subject{i}": subject for i, subject in enumerate(subjects)}


class DatabaseStore:
    """Counters in the `attempt_counters` table (SQLite or PostgreSQL).

    Each update is one transaction: on SQLite `BEGIN IMMEDIATE` takes the database's write lock
    first; on PostgreSQL an upsert creates and row-locks the written counters in a fixed order
    (so two lookups never wait for each other in a cycle) before they are read.
    """

    def __init__(self, engine: Engine) -> None:
        # Transactions are opened by hand: SQLite needs BEGIN IMMEDIATE, which SQLAlchemy's
        # own transactions do not emit.
        self._engine = engine.execution_options(isolation_level="AUTOCOMMIT")
        self._begin = "BEGIN IMMEDIATE" if engine.dialect.name == "sqlite" else "BEGIN"

    def update(self, now: float, write: Sequence[str], read: Sequence[str], change: Change[T]) -> T:
        write = sorted(set(write))
        read = sorted(set(read) - set(write))
        with self._engine.connect() as connection:
            connection.exec_driver_sql(self._begin)
            try:
                counters = self._select(connection, _lock_statement, write)
                counters.update(self._select(connection, _read_statement, read))
                result, after = change(counters)
                deletions, upserts = _writes(now, write, counters, after)
                if deletions:
                    connection.execute(
                        _delete_statement(len(deletions)), _subject_params(deletions)
                    )
                if upserts:
                    params = _subject_params(list(upserts))
                    for i, counter in enumerate(upserts.values()):
                        params.update({f"{k}{i}": v for k, v in _values(counter).items()})
                    connection.execute(_upsert_statement(len(upserts)), params)
                connection.exec_driver_sql("COMMIT")
            except BaseException:
                connection.exec_driver_sql("ROLLBACK")
                raise
        return result

    @staticmethod
    def _select(
        connection: Connection,
        statement: Callable[[int], TextClause],
        subjects: list[str],
    ) -> dict[str, Counter]:
        counters = dict.fromkeys(subjects, Counter())
        if subjects:
            rows = connection.execute(statement(len(subjects)), _subject_params(subjects))
            counters.update({row[0]: Counter(*row[1:]) for row in rows})
        return counters

    def forget(self, subject: str, prefix: str) -> None:
        with self._engine.connect() as connection:
            connection.execute(
                delete(AttemptCounter).where(
                    or_(
                        AttemptCounter.subject == subject,
                        AttemptCounter.subject.startswith(prefix, autoescape=True),
                    )
                )
            )

    def purge(self, now: float) -> int:
        with self._engine.connect() as connection:
            result = connection.execute(
                delete(AttemptCounter).where(AttemptCounter.expires_at <= now)
            )
        return result.rowcount


_READ_LUA = """
local counters = {}
for i, key in ipairs(KEYS) do
  counters[i] = redis.call('HMGET', key, 'failures', 'window_ends', 'pending', 'pending_until',
                           'blocked_until')
end
return counters
"""
_PURGE_LUA = """
local deleted = 0
for _, key in ipairs(KEYS) do
  local expires_at = tonumber(redis.call('HGET', key, 'expires_at'))
  if expires_at == nil or expires_at <= tonumber(ARGV[1]) then
    deleted = deleted + redis.call('DEL', key)
  end
end
return deleted
"""


def _counter(values: list[bytes | None]) -> Counter:
    failures, window_ends, pending, pending_until, blocked_until = (
        value or b"0" for value in values
    )
    return Counter(
        int(failures), float(window_ends), int(pending), float(pending_until), float(blocked_until)
    )


class RedisStore:
    """Counters in Redis hashes, each with an EXPIRE at its end.

    An update WATCHes its keys, reads them, and writes in MULTI/EXEC: if another update touched
    one of them in between, it starts again from the new values.
    """

    def __init__(self, client: Redis, prefix: str = "guichet") -> None:
        self._redis = client
        self._prefix = f"{prefix}:limits:"
        self._purge = client.register_script(_PURGE_LUA)

    def key(self, subject: str) -> str:
        return self._prefix + subject

    def update(self, now: float, write: Sequence[str], read: Sequence[str], change: Change[T]) -> T:
        write = sorted(set(write))
        subjects = write + sorted(set(read) - set(write))
        keys = [self.key(subject) for subject in subjects]
        with self._redis.pipeline() as pipe:
            while True:
                try:
                    pipe.watch(*keys)
                    values = pipe.eval(_READ_LUA, len(keys), *keys)
                    counters = {
                        subject: _counter(raw)
                        for subject, raw in zip(subjects, values, strict=True)
                    }
                    result, after = change(counters)
                    deletions, upserts = _writes(now, write, counters, after)
                    pipe.multi()
                    for subject in deletions:
                        pipe.delete(self.key(subject))
                    for subject, counter in upserts.items():
                        values = {k: repr(v) for k, v in _values(counter).items()}
                        pipe.hset(self.key(subject), mapping=values)
                        pipe.expire(self.key(subject), _seconds(counter.expires_at - now) + 1)
                    pipe.execute()
                    return result
                except WatchError:
                    continue

    def forget(self, subject: str, prefix: str) -> None:
        keys = [self.key(subject), *self._redis.scan_iter(match=f"{self.key(prefix)}*")]
        self._redis.delete(*keys)

    def purge(self, now: float) -> int:
        deleted, batch = 0, []
        for key in self._redis.scan_iter(match=f"{self._prefix}*", count=500):
            batch.append(key)
            if len(batch) == 500:
                deleted += int(self._purge(keys=batch, args=[repr(now)]))
                batch = []
        if batch:
            deleted += int(self._purge(keys=batch, args=[repr(now)]))
        return deleted


class FloodLimits:
    """Lookups per asker address and per conversation per minute (a and b), moving windows."""

    def __init__(self, limits: Limits, storage: Storage) -> None:
        self._limiter = MovingWindowRateLimiter(storage)
        self._per_asker = RateLimitItemPerMinute(limits.asker_per_minute)
        self._per_conversation = RateLimitItemPerMinute(limits.conversation_per_minute)

    @classmethod
    def from_settings(cls, limits: Limits, settings: Settings) -> "FloodLimits":
        storage: Storage = (
            RedisStorage(settings.redis_url, key_prefix=f"{settings.redis_prefix}:lookup")
            if settings.redis_url
            else MemoryStorage()
        )
        return cls(limits, storage)

    def check(self, subjects: Subjects) -> Denial | None:
        checks: list[tuple[Reason, RateLimitItemPerMinute, str]] = [
            ("asker_rate", self._per_asker, subjects.asker)
        ]
        if subjects.conversation:
            checks.append(("conversation_rate", self._per_conversation, subjects.conversation))
        for reason, item, subject in checks:
            if not self._limiter.hit(item, subject):
                stats = self._limiter.get_window_stats(item, subject)
                return Denial(reason, _seconds(stats.reset_time - time.time()))
        return None


class AttemptRefused(Exception):
    """`AttemptLimiter.attempt` refused the verification: `denial` says why and how long."""

    def __init__(self, denial: Denial) -> None:
        super().__init__(f"{denial.reason}, retry after {denial.retry_after} s")
        self.denial = denial


class Attempt:
    """One verification under way (see `AttemptLimiter.attempt`)."""

    def __init__(self) -> None:
        self.right_date = False
        self.attack: Attack | None = None

    def verified(self) -> None:
        """The date was right: the slots are given back and the (asker, number) cleared."""
        self.right_date = True


class AttemptLimiter:
    """The lookup's attempt limits: the rules above on a counter store."""

    def __init__(
        self,
        store: CounterStore,
        limits: Limits,
        key: str,
        flood: FloodLimits | None = None,
        clock: Clock = time.time,
    ) -> None:
        self.store = store
        self.limits = limits
        self.keyer = Keyer(key)
        self._flood = flood
        self._clock = clock

    @contextmanager
    def attempt(self, asker: Asker, numero: str) -> Iterator[Attempt]:
        """One verification of a date for `numero` by `asker`, as a block:

            with limiter.attempt(asker, numero) as attempt:
                ...  # compare the date
                if right:
                    attempt.verified()

        Entering counts the lookup and takes the slots atomically, or raises `AttemptRefused`.
        Leaving the block normally counts a wrong date unless `verified()` was called (then
        `attempt.attack` says whether that wrong date put the number under attack); leaving it
        by an exception gives the slots back without judging the date: an error is not a wrong
        date.
        """
        ticket = self.begin(asker, numero)
        if isinstance(ticket, Denial):
            raise AttemptRefused(ticket)
        attempt = Attempt()
        try:
            yield attempt
        except BaseException:
            self.release(ticket)
            raise
        attempt.attack = self.finish(ticket, verified=attempt.right_date)

    def begin(self, asker: Asker, numero: str) -> Ticket | Denial:
        """Count the lookup and take the slots a verification needs, or say why not."""
        subjects = self.keyer.subjects(asker, numero)
        if self._flood is not None and (denial := self._flood.check(subjects)):
            return denial
        now = self._clock()

        def change(counters: Mapping[str, Counter]) -> tuple[Ticket | Denial, dict[str, Counter]]:
            denial, pair, asker_counter = decide_begin(
                self.limits,
                now,
                counters[subjects.pair],
                counters[subjects.asker],
                counters[subjects.numero],
            )
            return denial or Ticket(subjects), {
                subjects.pair: pair,
                subjects.asker: asker_counter,
            }

        return self.store.update(
            now, write=[subjects.pair, subjects.asker], read=[subjects.numero], change=change
        )

    def finish(self, ticket: Ticket, verified: bool) -> Attack | None:
        """Give the slots back after a right date; count a wrong one (and say if it started an
        attack on the number)."""
        subjects, now = ticket.subjects, self._clock()
        write = [subjects.pair, subjects.asker]
        if not verified:
            write.append(subjects.numero)

        def change(counters: Mapping[str, Counter]) -> tuple[Attack | None, dict[str, Counter]]:
            pair, asker, numero, attack = decide_finish(
                self.limits,
                now,
                counters[subjects.pair],
                counters[subjects.asker],
                counters.get(subjects.numero, Counter()),
                verified,
            )
            changes = {subjects.pair: pair, subjects.asker: asker}
            if not verified:
                changes[subjects.numero] = numero
            return attack, changes

        return self.store.update(now, write=write, read=[], change=change)

    def release(self, ticket: Ticket) -> None:
        """Give the slots back without judging the date (the verification failed to run)."""
        subjects, now = ticket.subjects, self._clock()

        def change(counters: Mapping[str, Counter]) -> tuple[None, dict[str, Counter]]:
            return None, {
                subject: counters[subject].at(now).give_slot_back()
                for subject in (subjects.pair, subjects.asker)
            }

        self.store.update(now, write=[subjects.pair, subjects.asker], read=[], change=change)

    def forget(self, numeros: Iterable[str]) -> None:
        """Drop every counter of `numeros`, whoever tried them (demo reset)."""
        for numero in numeros:
            self.store.forget(*self.keyer.numero_subjects(numero))

    def purge_expired(self, now: float | None = None) -> int:
        """Delete the counters whose windows and delays are over; return how many."""
        return self.store.purge(self._clock() if now is None else now)


def build_limiter(
    settings: Settings, counter_engine: Engine, clock: Clock = time.time
) -> AttemptLimiter:
    """The limiter the settings describe: counters in Redis when GUICHET_REDIS_URL is set, else
    in the database of `counter_engine`."""
    limits = Limits.from_settings(settings)
    store: CounterStore = (
        RedisStore(Redis.from_url(settings.redis_url), prefix=settings.redis_prefix)
        if settings.redis_url
        else DatabaseStore(counter_engine)
    )
    flood = FloodLimits.from_settings(limits, settings)
    return AttemptLimiter(store, limits, settings.dob_hash_key, flood, clock)
