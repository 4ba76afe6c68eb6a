"""The limiter's rules, with a fake clock, on each backend: SQLite, PostgreSQL and Redis."""

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from redis import Redis

from api.db import make_engine
from api.migrate import upgrade_to_head
from api.ratelimit import AttemptLimiter, DatabaseLimiter, Denial, Limits, RedisLimiter
from tests.api.conftest import empty_database

LIMITS = Limits(client_per_minute=3, max_failures=5, failure_window_seconds=900, lock_seconds=600)


class FakeClock:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture(params=["sqlite", "postgresql", "redis"])
def limiter_and_clock(
    request: pytest.FixtureRequest, tmp_path: Path
) -> Iterator[tuple[AttemptLimiter, FakeClock]]:
    clock = FakeClock()
    if request.param != "redis":
        with empty_database(request.param, tmp_path) as database_url:
            upgrade_to_head(database_url)
            engine = make_engine(database_url)
            yield DatabaseLimiter(engine, LIMITS, clock), clock
            engine.dispose()
        return
    client = Redis.from_url(request.getfixturevalue("redis_url"))
    prefix = f"guichet-test-{uuid.uuid4().hex[:8]}"
    yield RedisLimiter(client, LIMITS, clock, prefix=prefix), clock
    keys = list(client.scan_iter(f"{prefix}:*"))
    if keys:
        client.delete(*keys)
    client.close()


def test_client_cap_per_minute(limiter_and_clock: tuple[AttemptLimiter, FakeClock]) -> None:
    limiter, clock = limiter_and_clock
    for i in range(3):
        assert limiter.begin("ip-a", f"N{i}") is None
        limiter.finish(f"N{i}", verified=True)
    denial = limiter.begin("ip-a", "N9")
    assert denial is not None and denial.reason == "client" and 1 <= denial.retry_after <= 60
    assert limiter.begin("ip-b", "N9") is None, "another client has its own budget"
    clock.now += 61
    assert limiter.begin("ip-a", "N8") is None


def test_fifth_failure_locks_even_the_right_date(
    limiter_and_clock: tuple[AttemptLimiter, FakeClock],
) -> None:
    limiter, clock = limiter_and_clock
    locks = []
    for i in range(5):
        clock.now += 1
        assert limiter.begin(f"ip-{i}", "2611000003") is None
        locks.append(limiter.finish("2611000003", verified=False))
    assert locks[:4] == [None] * 4
    assert locks[4] is not None and locks[4].failures == 5
    assert locks[4].locked_until == clock.now + 600
    assert limiter.begin("ip-x", "2611000003") == Denial("numero", 600)
    clock.now += 599
    assert limiter.begin("ip-y", "2611000003") == Denial("numero", 1)
    clock.now += 2
    assert limiter.begin("ip-z", "2611000003") is None, "the lock has expired"


def test_success_gives_the_slot_back(limiter_and_clock: tuple[AttemptLimiter, FakeClock]) -> None:
    limiter, _clock = limiter_and_clock
    for i in range(4):
        assert limiter.begin(f"ip-{i}", "N1") is None
        limiter.finish("N1", verified=False)
    for i in range(10):
        assert limiter.begin(f"ok-{i}", "N1") is None
        assert limiter.finish("N1", verified=True) is None
    assert limiter.begin("ip-last", "N1") is None
    assert limiter.finish("N1", verified=False) is not None


def test_failures_expire_with_their_window(
    limiter_and_clock: tuple[AttemptLimiter, FakeClock],
) -> None:
    limiter, clock = limiter_and_clock
    for i in range(4):
        assert limiter.begin(f"ip-{i}", "N2") is None
        limiter.finish("N2", verified=False)
    clock.now += 901
    for i in range(4):
        assert limiter.begin(f"ip-late-{i}", "N2") is None
        assert limiter.finish("N2", verified=False) is None


def test_slots_under_way_are_capped(limiter_and_clock: tuple[AttemptLimiter, FakeClock]) -> None:
    limiter, _clock = limiter_and_clock
    for i in range(5):
        assert limiter.begin(f"ip-{i}", "N3") is None
    denial = limiter.begin("ip-6", "N3")
    assert denial is not None and denial.reason == "numero"
    limiter.finish("N3", verified=True)
    assert limiter.begin("ip-7", "N3") is None


def test_forget_clears_a_lock(limiter_and_clock: tuple[AttemptLimiter, FakeClock]) -> None:
    limiter, _clock = limiter_and_clock
    for i in range(5):
        limiter.begin(f"ip-{i}", "N4")
        limiter.finish("N4", verified=False)
    assert limiter.begin("ip-9", "N4") is not None
    limiter.forget(["N4"])
    assert limiter.begin("ip-10", "N4") is None
