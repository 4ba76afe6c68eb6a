"""The lock store: one turn at a time per conversation, across every Rasa process.

endpoints.yml names it by its module path:

    lock_store:
      type: assistant.lock_store.GuichetLockStore
      url: ${GUICHET_LOCK_STORE_URL}
      key_prefix: guichet

- `GUICHET_LOCK_STORE_URL` empty (the embedded default): Rasa's `InMemoryLockStore`, which only
  orders the messages of one process. Then Rasa must run one process with one Sanic worker:
  with SANIC_WORKERS above 1 this refuses to start (Rasa itself would accept any lock store
  named by a module path as good for several workers).
- `redis://[:password@]host:port/db` (or `rediss://` for TLS): `AtomicRedisLockStore`.

Why not Rasa's own `type: redis`: its `RedisLockStore` reads a conversation's lock, changes it
in Python and writes it back, in separate round trips. Two Rasa processes taking a ticket for
the same conversation at the same moment both read the same lock and both get the same ticket
number (measured: 1,000 tickets taken by two processes at once came out as 733 distinct
numbers), so both handle their message at once, and the second save of the tracker drops the
first one's events. `AtomicRedisLockStore` is Rasa's store with each read-modify-write done in
one Redis transaction (WATCH/MULTI/EXEC, retried when another process changed the lock in
between); reading and the tickets are Rasa's. Two changes beyond that: a process waiting for its
turn keeps its ticket alive (`_wait_for_turn`), so TICKET_LOCK_LIFETIME (Rasa's, 60 s by
default) bounds a turn's work and how long a killed process's ticket holds its conversation,
not the time spent waiting; and the keys expire once their last ticket has, so a lock left by a
killed process does not stay in Redis forever.
"""

from __future__ import annotations

import asyncio
import json
import math
import os
import time
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager
from typing import Any, TypeVar

from rasa.core.lock import TicketLock
from rasa.core.lock_store import (
    DEFAULT_SOCKET_TIMEOUT_IN_SECONDS,
    LOCK_LIFETIME,
    InMemoryLockStore,
    LockError,
    LockStore,
    RedisLockStore,
)
from rasa.shared.exceptions import RasaException
from rasa.utils.endpoints import EndpointConfig

URL_VARIABLE = "GUICHET_LOCK_STORE_URL"
REDIS_SCHEMES = ("redis://", "rediss://", "unix://")
# Seconds a lock's key outlives its last ticket.
KEY_MARGIN_SECONDS = 5

T = TypeVar("T")


class LockStoreMisconfigured(RasaException):
    """The lock store cannot give what the process layout needs."""


def sanic_workers(environ: Mapping[str, str] = os.environ) -> int:
    """The number of Sanic workers Rasa will start (SANIC_WORKERS, 1 when unset or unreadable,
    as `rasa.core.utils.number_of_sanic_workers` reads it)."""
    try:
        return max(1, int(environ.get("SANIC_WORKERS", "1") or "1"))
    except ValueError:
        return 1


class AtomicRedisLockStore(RedisLockStore):
    """Rasa's `RedisLockStore` with every change of a lock in one Redis transaction."""

    def __init__(
        self,
        url: str,
        key_prefix: str | None = None,
        socket_timeout: float = DEFAULT_SOCKET_TIMEOUT_IN_SECONDS,
    ) -> None:
        import redis

        # Rasa's constructor takes a host name only; a URL carries the port, the database
        # index, the password and TLS (rediss://) in the one setting operators already know.
        self.red = redis.StrictRedis.from_url(url, socket_timeout=socket_timeout)
        self.key_prefix = "lock:"
        if key_prefix:
            self._set_key_prefix(key_prefix)
        LockStore.__init__(self)

    def _change(
        self, conversation_id: str, change: Callable[[TicketLock | None], tuple[T, TicketLock]]
    ) -> T:
        """Read the conversation's lock, apply `change`, write the result, all or nothing.

        `change` gets the stored lock (or None) and returns its result and the lock to store;
        a lock with no ticket left is deleted. Redis runs the write only if nobody changed the
        key since it was read; otherwise the whole step runs again on the new value.
        """
        key = self.key_prefix + conversation_id

        def step(pipe: Any) -> T:
            stored = pipe.get(key)
            lock = TicketLock.from_dict(json.loads(stored)) if stored else None
            result, lock = change(lock)
            pipe.multi()
            if lock.is_someone_waiting():
                last_expiry = max(ticket.expires for ticket in lock.tickets)
                seconds = max(1, math.ceil(last_expiry - time.time())) + KEY_MARGIN_SECONDS
                pipe.set(key, lock.dumps(), ex=seconds)
            else:
                pipe.delete(key)
            return result

        return self.red.transaction(step, key, value_from_callable=True)

    def issue_ticket(self, conversation_id: str, lock_lifetime: float = LOCK_LIFETIME) -> int:
        """A ticket numbered after every ticket of the conversation still held."""

        def take(lock: TicketLock | None) -> tuple[int, TicketLock]:
            lock = lock or self.create_lock(conversation_id)
            return lock.issue_ticket(lock_lifetime), lock

        try:
            return self._change(conversation_id, take)
        except Exception as error:
            raise LockError(f"Error while acquiring lock. Error:\n{error}") from error

    @asynccontextmanager
    async def lock(
        self,
        conversation_id: str,
        lock_lifetime: float = LOCK_LIFETIME,
        wait_time_in_seconds: float = 1,
    ) -> AsyncIterator[TicketLock]:
        """Rasa's `LockStore.lock`, waiting with `_wait_for_turn`."""
        ticket = self.issue_ticket(conversation_id, lock_lifetime)
        try:
            yield await self._wait_for_turn(
                conversation_id, ticket, lock_lifetime, wait_time_in_seconds
            )
        finally:
            self.cleanup(conversation_id, ticket)

    async def _wait_for_turn(
        self, conversation_id: str, ticket: int, lifetime: float, wait_time_in_seconds: float
    ) -> TicketLock:
        """Wait until `ticket` is served, keeping it alive meanwhile.

        Rasa counts a ticket's lifetime from when it is taken, waiting included: a message
        queued behind the ticket of a killed process expires about when that one does, and
        fails. Here a waiting process renews its own ticket at each look, and once more when
        its turn comes, so the lifetime bounds a turn's work and how long a dead process's
        ticket blocks, not the wait.
        """
        while True:
            lock = self._renew(conversation_id, ticket, lifetime)
            if lock is None:
                raise LockError(f"Could not acquire lock for conversation_id '{conversation_id}'.")
            if not lock.is_locked(ticket):
                return lock
            await asyncio.sleep(wait_time_in_seconds)

    def _renew(self, conversation_id: str, ticket: int, lifetime: float) -> TicketLock | None:
        """Drop expired tickets and give `ticket` a new lifetime; None if it is gone."""

        def renew(lock: TicketLock | None) -> tuple[TicketLock | None, TicketLock]:
            lock = lock or self.create_lock(conversation_id)
            lock.remove_expired_tickets()
            own = next((t for t in lock.tickets if t.number == ticket), None)
            if own is None:
                return None, lock
            own.expires = time.time() + lifetime
            return lock, lock

        return self._change(conversation_id, renew)

    def update_lock(self, conversation_id: str) -> None:
        """Drop the expired tickets (a killed process's), so the next one is served."""

        def expire(lock: TicketLock | None) -> tuple[None, TicketLock]:
            lock = lock or self.create_lock(conversation_id)
            lock.remove_expired_tickets()
            return None, lock

        self._change(conversation_id, expire)

    def finish_serving(self, conversation_id: str, ticket_number: int) -> None:
        """Give the ticket back; the lock goes when nobody waits any more."""

        def give_back(lock: TicketLock | None) -> tuple[None, TicketLock]:
            lock = lock or self.create_lock(conversation_id)
            lock.remove_ticket_for(ticket_number)
            return None, lock

        self._change(conversation_id, give_back)

    def cleanup(self, conversation_id: str, ticket_number: int) -> None:
        """Rasa's cleanup (give back, then delete if nobody waits) as one step: a ticket taken
        in between by another process is never deleted with the lock."""
        self.finish_serving(conversation_id, ticket_number)


class GuichetLockStore(LockStore):
    """endpoints.yml's lock store: in memory without a URL, `AtomicRedisLockStore` with one.

    Rasa builds a custom lock store as `GuichetLockStore(endpoint_config=...)`; this returns
    the store the configuration asks for (an instance of another class).
    """

    def __new__(cls, endpoint_config: EndpointConfig | None = None, **_ignored: Any) -> LockStore:
        url = str((endpoint_config.url if endpoint_config else None) or "").strip()
        kwargs = endpoint_config.kwargs if endpoint_config else {}
        if not url:
            workers = sanic_workers()
            if workers > 1:
                raise LockStoreMisconfigured(
                    f"SANIC_WORKERS={workers} sans {URL_VARIABLE} : les messages d'une même "
                    "conversation ne seraient plus traités dans l'ordre. Donnez une adresse "
                    f"Redis (redis://hôte:6379/1) ou un seul worker. / SANIC_WORKERS={workers} "
                    f"needs a Redis lock store: set {URL_VARIABLE} (redis://host:6379/1) or "
                    "run one worker."
                )
            return InMemoryLockStore()
        if not url.startswith(REDIS_SCHEMES):
            raise LockStoreMisconfigured(
                f"{URL_VARIABLE} doit être une adresse Redis (redis://, rediss:// ou unix://). "
                f"/ {URL_VARIABLE} must be a Redis URL (redis://, rediss:// or unix://)."
            )
        return AtomicRedisLockStore(url, key_prefix=kwargs.get("key_prefix"))
