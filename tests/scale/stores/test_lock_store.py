"""The lock store of several Rasa processes, on a real Redis (assistant/lock_store.py).

Each process builds its own store, as each Rasa process does, and they contend for one
conversation's lock at the same moment.
"""

import asyncio
import multiprocessing
import time
import warnings

import pytest
import redis

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from rasa.core.lock_store import InMemoryLockStore, LockStore
    from rasa.core.utils import AvailableEndpoints, number_of_sanic_workers
    from rasa.utils.endpoints import EndpointConfig

    from assistant.lock_store import (
        AtomicRedisLockStore,
        GuichetLockStore,
        LockStoreMisconfigured,
    )
from scripts.paths import ROOT
from tests.scale.services import scratch_redis

CONVERSATION = "conversation-1"


@pytest.fixture
def redis_url():
    with scratch_redis() as url:
        yield url


def _take_tickets(url: str, count: int, start, results) -> None:
    store = AtomicRedisLockStore(url, key_prefix="test")
    start.wait()
    results.put([store.issue_ticket(CONVERSATION) for _ in range(count)])


def _count_under_lock(url: str, rounds: int, start, results) -> None:
    """Increment a counter by read, pause, write, each time under the conversation's lock."""
    store = AtomicRedisLockStore(url, key_prefix="test")
    client = redis.Redis.from_url(url)

    async def rounds_under_lock() -> None:
        for _ in range(rounds):
            async with store.lock(CONVERSATION, wait_time_in_seconds=0.002):
                value = int(client.get("counter") or 0)
                await asyncio.sleep(0.002)
                client.set("counter", value + 1)

    start.wait()
    asyncio.run(rounds_under_lock())
    results.put(rounds)


def _in_two_processes(target, url: str, count: int) -> list:
    """Run `target(url, count, start, results)` in two processes that start together."""
    context = multiprocessing.get_context("fork")
    start = context.Barrier(2)
    results = context.Queue()
    workers = [context.Process(target=target, args=(url, count, start, results)) for _ in "ab"]
    for worker in workers:
        worker.start()
    collected = [results.get(timeout=120) for _ in workers]
    for worker in workers:
        worker.join(30)
        assert worker.exitcode == 0
    return collected


def test_two_processes_never_get_the_same_ticket(redis_url):
    # Rasa's own RedisLockStore gives the same number twice here (733 distinct of 1,000).
    taken = _in_two_processes(_take_tickets, redis_url, 400)
    numbers = [number for batch in taken for number in batch]
    assert len(numbers) == 800
    assert sorted(numbers) == list(range(800))
    stored = AtomicRedisLockStore(redis_url, key_prefix="test").get_lock(CONVERSATION)
    assert [ticket.number for ticket in stored.tickets] == list(range(800))


def test_one_turn_at_a_time_across_processes(redis_url):
    assert _in_two_processes(_count_under_lock, redis_url, 150) == [150, 150]
    client = redis.Redis.from_url(redis_url)
    # Two turns at once would both read the same value: an increment would be lost.
    assert int(client.get("counter")) == 300
    # Every ticket was given back: the lock is gone.
    assert client.keys("test:lock:*") == []


def test_tickets_are_served_in_the_order_taken(redis_url):
    first, second = (AtomicRedisLockStore(redis_url, key_prefix="test") for _ in range(2))
    served = []

    async def turn(store, name, delay):
        await asyncio.sleep(delay)
        async with store.lock(CONVERSATION, wait_time_in_seconds=0.01):
            served.append(name)
            await asyncio.sleep(0.05)

    async def all_turns():
        await asyncio.gather(
            *(turn((first, second)[i % 2], i, i * 0.01) for i in range(8)),
        )

    asyncio.run(all_turns())
    assert served == list(range(8))


def test_a_dead_process_ticket_expires_and_its_key_too(redis_url):
    dead = AtomicRedisLockStore(redis_url, key_prefix="test")
    alive = AtomicRedisLockStore(redis_url, key_prefix="test")
    dead.issue_ticket(CONVERSATION, lock_lifetime=1)  # never given back: killed mid-turn
    client = redis.Redis.from_url(redis_url)
    assert 0 < client.ttl("test:lock:" + CONVERSATION) <= 1 + 5

    async def next_turn() -> float:
        began = time.monotonic()
        async with alive.lock(CONVERSATION, wait_time_in_seconds=0.1):
            return time.monotonic() - began

    waited = asyncio.run(next_turn())
    assert 0.8 < waited < 5
    assert client.keys("test:lock:*") == []


def test_a_message_waiting_behind_a_dead_ticket_outlives_its_own_lifetime(redis_url):
    dead = AtomicRedisLockStore(redis_url, key_prefix="test")
    alive = AtomicRedisLockStore(redis_url, key_prefix="test")
    dead.issue_ticket(CONVERSATION, lock_lifetime=2)

    async def next_turn() -> float:
        began = time.monotonic()
        # Rasa's own store expires this ticket after 1 s of waiting: LockError, message lost.
        async with alive.lock(CONVERSATION, lock_lifetime=1, wait_time_in_seconds=0.1):
            return time.monotonic() - began

    assert 1.8 < asyncio.run(next_turn()) < 5


def test_an_empty_url_is_the_in_memory_store_of_one_worker(monkeypatch):
    monkeypatch.delenv("SANIC_WORKERS", raising=False)
    store = GuichetLockStore(endpoint_config=EndpointConfig(url="", key_prefix="guichet"))
    assert type(store) is InMemoryLockStore
    monkeypatch.setenv("SANIC_WORKERS", "2")
    with pytest.raises(LockStoreMisconfigured, match="GUICHET_LOCK_STORE_URL"):
        GuichetLockStore(endpoint_config=EndpointConfig(url=""))


def test_a_url_that_is_not_redis_is_refused():
    with pytest.raises(LockStoreMisconfigured, match="Redis"):
        GuichetLockStore(endpoint_config=EndpointConfig(url="http://127.0.0.1:6379"))


@pytest.mark.parametrize(("url", "expected"), [("", InMemoryLockStore), ("redis", None)])
def test_endpoints_yml_builds_the_store_rasa_runs_with(monkeypatch, redis_url, url, expected):
    monkeypatch.setenv("GUICHET_LOCK_STORE_URL", redis_url if url == "redis" else url)
    monkeypatch.setenv("GUICHET_TRACKER_DB_URL", "sqlite://")
    monkeypatch.setenv("GUICHET_ACTION_SERVER_URL", "http://127.0.0.1:1/webhook")
    monkeypatch.setenv("GUICHET_ACTIONS_TOKEN", "token")
    monkeypatch.setenv("SANIC_WORKERS", "2")
    endpoints = AvailableEndpoints.read_endpoints(str(ROOT / "endpoints.yml"))
    if expected is InMemoryLockStore:
        with pytest.raises(LockStoreMisconfigured):
            LockStore.create(endpoints.lock_store)
        return
    store = LockStore.create(endpoints.lock_store)
    assert isinstance(store, AtomicRedisLockStore)
    assert store.key_prefix == "guichet:lock:"
    assert store.red.ping()
    # Rasa starts its Sanic workers only with a lock store other than in memory.
    assert number_of_sanic_workers(endpoints.lock_store) == 2
