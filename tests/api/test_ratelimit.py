"""The limiter's rules, with a fake clock, on each home of the counters: SQLite, PostgreSQL and
Redis (the per-minute caps, in memory or Redis, run on the real clock)."""

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from limits.storage import MemoryStorage, RedisStorage
from redis import Redis
from sqlalchemy import Engine, select

from api.db import make_engine
from api.migrate import upgrade_to_head
from api.models import AttemptCounter
from api.ratelimit import (
    Asker,
    Attack,
    AttemptLimiter,
    AttemptRefused,
    DatabaseStore,
    Denial,
    FloodLimits,
    Limits,
    RedisStore,
    Ticket,
)
from tests.api.conftest import delete_redis_keys, empty_database

LIMITS = Limits()  # the defaults: 30 and 10 per minute, 3 free, 60 s to 1 h, 20, 30, 24 h
DAY = 86_400
NUMERO = "2611000003"


class FakeClock:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


@dataclass
class Harness:
    limiter: AttemptLimiter
    clock: FakeClock
    engine: Engine | None = None
    redis: Redis | None = None
    prefix: str = ""

    def stored(self) -> dict[str, dict[str, str]]:
        """Every counter as stored, subject -> fields."""
        if self.engine is not None:
            with self.engine.connect() as connection:
                rows = connection.execute(select(AttemptCounter.__table__)).mappings().all()
            return {row["subject"]: {k: str(v) for k, v in row.items()} for row in rows}
        assert self.redis is not None
        return {
            key.decode(): {k.decode(): v.decode() for k, v in self.redis.hgetall(key).items()}
            for key in self.redis.scan_iter(f"{self.prefix}:limits:*")
        }


@pytest.fixture(params=["sqlite", "postgresql", "redis"])
def harness(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Harness]:
    clock = FakeClock()
    if request.param != "redis":
        with empty_database(request.param, tmp_path) as database_url:
            upgrade_to_head(database_url)
            engine = make_engine(database_url)
            flood = FloodLimits(LIMITS, MemoryStorage())
            limiter = AttemptLimiter(DatabaseStore(engine), LIMITS, "test-key", flood, clock)
            yield Harness(limiter, clock, engine=engine)
            engine.dispose()
        return
    redis_url = request.getfixturevalue("redis_url")
    client = Redis.from_url(redis_url)
    prefix = f"guichet-test-{uuid.uuid4().hex[:8]}"
    flood = FloodLimits(LIMITS, RedisStorage(redis_url, key_prefix=f"{prefix}:lookup"))
    store = RedisStore(client, prefix=prefix)
    try:
        yield Harness(
            AttemptLimiter(store, LIMITS, "test-key", flood, clock),
            clock,
            redis=client,
            prefix=prefix,
        )
    finally:
        delete_redis_keys(redis_url, prefix)
        client.close()


def attempt(
    limiter: AttemptLimiter, asker: str, numero: str = NUMERO, *, verified: bool = False
) -> Denial | Attack | None:
    """One lookup: the refusal, or the verification's outcome (an attack it started, or None)."""
    ticket = limiter.begin(Asker(asker), numero)
    if isinstance(ticket, Denial):
        return ticket
    return limiter.finish(ticket, verified=verified)


def test_three_free_wrong_dates_then_doubling_delays(harness: Harness) -> None:
    limiter, clock = harness.limiter, harness.clock
    assert [attempt(limiter, "ip-a") for _ in range(3)] == [None] * 3
    delays = []
    for _ in range(8):
        denial = attempt(limiter, "ip-a")
        assert isinstance(denial, Denial) and denial.reason == "delay"
        delays.append(denial.retry_after)
        clock.now += denial.retry_after - 1
        assert attempt(limiter, "ip-a", verified=True) == Denial("delay", 1), "even the right date"
        clock.now += 1
        assert attempt(limiter, "ip-a") is None
    assert delays == [60, 120, 240, 480, 960, 1920, 3600, 3600]


def test_delay_values_follow_the_settings() -> None:
    limits = Limits(free_failures=2, first_delay_seconds=10, max_delay_seconds=100)
    assert [limits.delay_after(n) for n in range(1, 9)] == [0, 10, 20, 40, 80, 100, 100, 100]
    assert Limits().delay_after(10_000) == 3600


def test_another_asker_is_never_delayed(harness: Harness) -> None:
    limiter = harness.limiter
    for _ in range(3):
        attempt(limiter, "attacker")
    assert isinstance(attempt(limiter, "attacker", verified=True), Denial)
    assert attempt(limiter, "owner", verified=True) is None
    assert attempt(limiter, "owner") is None, "nor is the owner after a typo"


def test_a_right_date_clears_the_delay(harness: Harness) -> None:
    limiter, clock = harness.limiter, harness.clock
    for _ in range(3):
        attempt(limiter, "ip-a")
    clock.now += 60
    assert attempt(limiter, "ip-a", verified=True) is None
    assert [attempt(limiter, "ip-a") for _ in range(3)] == [None] * 3, "three free ones again"
    assert attempt(limiter, "ip-a") == Denial("delay", 60)


def test_the_pair_is_forgotten_a_day_after_its_last_wrong_date(harness: Harness) -> None:
    limiter, clock = harness.limiter, harness.clock
    for _ in range(3):
        attempt(limiter, "ip-a")
    clock.now += 3600
    attempt(limiter, "ip-a")  # the fourth wrong date: 120 s next time, if remembered
    clock.now += DAY - 1
    assert attempt(limiter, "ip-a") is None
    assert attempt(limiter, "ip-a") == Denial("delay", 240), "still remembered a day after 1st"
    clock.now += DAY + 1
    assert [attempt(limiter, "ip-a") for _ in range(3)] == [None] * 3
    assert attempt(limiter, "ip-a") == Denial("delay", 60)


def test_twenty_wrong_dates_per_day_per_asker_across_numbers(harness: Harness) -> None:
    limiter, clock = harness.limiter, harness.clock
    for i in range(20):
        clock.now += 60
        assert attempt(limiter, "ip-enum", f"26110001{i:02d}") is None
    clock.now += 60
    denial = attempt(limiter, "ip-enum", "2611000199", verified=True)
    assert denial == Denial("asker_failures", DAY - 20 * 60)
    assert attempt(limiter, "ip-other", "2611000199") is None, "another asker is not concerned"
    clock.now += DAY - 20 * 60
    assert attempt(limiter, "ip-enum", "2611000199") is None, "a new day"


def test_a_number_under_attack_refuses_only_askers_who_failed_on_it(harness: Harness) -> None:
    limiter, clock = harness.limiter, harness.clock
    outcomes = []
    for i in range(10):
        for _ in range(3):
            outcomes.append(attempt(limiter, f"bot-{i}"))
    assert outcomes[:29] == [None] * 29
    assert outcomes[29] == Attack(failures=30, strict_until=clock.now + DAY)
    clock.now += 3600  # every bot's delay is over, the attack is not
    assert attempt(limiter, "bot-0", verified=True) == Denial("attack", DAY - 3600)
    assert attempt(limiter, "owner", verified=True) is None, "the owner gets in"
    assert attempt(limiter, "stranger") is None, "a first try, even under attack"
    assert attempt(limiter, "stranger") == Denial("attack", DAY), "but only one"
    assert attempt(limiter, "other-number-owner", "2611000001") is None
    # Each wrong date pushes the end of the attack back.
    clock.now += DAY - 3600 - 10
    assert attempt(limiter, "bot-0") == Denial("attack", 10), "its own failure ends then"
    clock.now += 10
    assert attempt(limiter, "bot-0") is None, "bot-0 gets one more try, a day after its last"
    assert attempt(limiter, "bot-0") == Denial("attack", DAY)
    clock.now += DAY
    assert attempt(limiter, "bot-0") is None, "a day after the last wrong date, it is over"
    assert attempt(limiter, "bot-0") is None


def test_an_attack_is_reported_once(harness: Harness) -> None:
    limiter = harness.limiter
    attacks = [attempt(limiter, f"bot-{i}") for i in range(40)]
    assert [i for i, a in enumerate(attacks) if isinstance(a, Attack)] == [29]


def test_slots_under_way_are_capped(harness: Harness) -> None:
    limiter, clock = harness.limiter, harness.clock
    tickets = [limiter.begin(Asker("ip-a"), NUMERO) for _ in range(4)]
    assert all(isinstance(ticket, Ticket) for ticket in tickets[:3])
    assert tickets[3] == Denial("busy", 1)
    assert isinstance(limiter.begin(Asker("ip-b"), NUMERO), Ticket), "per asker"
    limiter.release(tickets[0])  # an error: no wrong date counted
    again = limiter.begin(Asker("ip-a"), NUMERO)
    assert isinstance(again, Ticket)
    for ticket in [again, *tickets[1:3]]:
        limiter.finish(ticket, verified=False)
    assert attempt(limiter, "ip-a") == Denial("delay", 60), "three wrong dates, not four"
    # A slot never given back (a worker died) frees itself.
    clock.now += 60
    assert isinstance(limiter.begin(Asker("ip-a"), NUMERO), Ticket)
    assert limiter.begin(Asker("ip-a"), NUMERO) == Denial("busy", 1)
    clock.now += 61
    assert isinstance(limiter.begin(Asker("ip-a"), NUMERO), Ticket)


def test_an_attempt_block_judges_on_leaving_and_gives_the_slots_back_on_error(
    harness: Harness,
) -> None:
    limiter, ip_a = harness.limiter, Asker("ip-a")
    for _ in range(5):  # errors are not wrong dates: the slots come back, nothing is counted
        with pytest.raises(RuntimeError), limiter.attempt(ip_a, NUMERO):
            raise RuntimeError("database unreachable")
    with limiter.attempt(ip_a, NUMERO) as right:
        right.verified()
    assert right.attack is None
    # Three at once; the fourth is refused and its error gives the third's slot back; the first
    # two are left without verified(): two wrong dates.
    with (
        limiter.attempt(ip_a, NUMERO),
        limiter.attempt(ip_a, NUMERO),
        pytest.raises(AttemptRefused) as busy,
        limiter.attempt(ip_a, NUMERO),
        limiter.attempt(ip_a, NUMERO),
    ):
        pytest.fail("a fourth verification at once")
    assert busy.value.denial == Denial("busy", 1)
    with limiter.attempt(ip_a, NUMERO):
        pass
    with pytest.raises(AttemptRefused) as delayed, limiter.attempt(ip_a, NUMERO):
        pytest.fail("a refused attempt never runs its block")
    assert delayed.value.denial == Denial("delay", 60), "three wrong dates, then a delay"


def test_an_attempt_says_when_it_started_an_attack(harness: Harness) -> None:
    attacks = []
    for i in range(31):
        with harness.limiter.attempt(Asker(f"bot-{i}"), NUMERO) as wrong:
            pass
        attacks.append(wrong.attack)
    assert [i for i, attack in enumerate(attacks) if attack is not None] == [29]
    assert attacks[29] == Attack(30, harness.clock.now + DAY)


def test_asker_slots_under_way_are_capped(harness: Harness) -> None:
    limiter = harness.limiter
    tickets = [limiter.begin(Asker("ip-a"), f"26110002{i:02d}") for i in range(21)]
    assert all(isinstance(ticket, Ticket) for ticket in tickets[:20])
    assert tickets[20] == Denial("busy", 1)


def test_per_minute_caps(harness: Harness) -> None:
    limiter = harness.limiter
    for i in range(30):
        assert attempt(limiter, "ip-flood", f"26110003{i:02d}", verified=True) is None
    denial = attempt(limiter, "ip-flood", "2611000001", verified=True)
    assert isinstance(denial, Denial) and denial.reason == "asker_rate"
    assert 1 <= denial.retry_after <= 60
    assert attempt(limiter, "ip-calm", verified=True) is None, "another asker has its own cap"
    conversation = Asker("ip-shared", conversation="conv-1")
    for _ in range(10):
        ticket = limiter.begin(conversation, NUMERO)
        assert isinstance(ticket, Ticket)
        limiter.finish(ticket, verified=True)
    denial = limiter.begin(conversation, NUMERO)
    assert isinstance(denial, Denial) and denial.reason == "conversation_rate"
    assert isinstance(limiter.begin(Asker("ip-shared", conversation="conv-2"), NUMERO), Ticket)


def test_counters_expire_and_are_purged(harness: Harness) -> None:
    limiter, clock = harness.limiter, harness.clock
    start = clock.now
    for _ in range(3):
        attempt(limiter, "ip-a")
    limiter.begin(Asker("ip-b"), "2611000001")  # a slot never given back
    assert len(harness.stored()) == 5  # two pairs, two askers, one number
    assert limiter.purge_expired() == 0
    clock.now = start + 61
    assert limiter.purge_expired() == 2, "the forgotten slot's pair and asker"
    assert limiter.purge_expired(start + DAY - 1) == 0
    assert limiter.purge_expired(start + DAY + 1) == 3
    assert harness.stored() == {}
    assert [attempt(limiter, "ip-a") for _ in range(3)] == [None] * 3, "nothing left"


@pytest.mark.parametrize("harness", ["redis"], indirect=True)
def test_redis_keys_expire_by_themselves(harness: Harness) -> None:
    assert harness.redis is not None
    for _ in range(3):
        attempt(harness.limiter, "ip-a")
    keys = list(harness.redis.scan_iter(f"{harness.prefix}:*"))
    assert keys
    for key in keys:
        assert 0 < harness.redis.ttl(key) <= DAY + 3600 + 2


def test_counters_hold_no_number_nor_address(harness: Harness) -> None:
    limiter = harness.limiter
    for _ in range(4):
        limiter.begin(Asker("203.0.113.7", conversation="conv-9"), NUMERO)
    attempt(limiter, "203.0.113.7", "2611000004")
    stored = harness.stored()
    assert stored
    text = repr(stored)
    if harness.redis is not None:  # the per-minute caps' keys too
        text += repr(list(harness.redis.scan_iter(f"{harness.prefix}:*")))
    for secret in (NUMERO, "2611000004", "26110000", "203.0.113.7", "conv-9"):
        assert secret not in text


def test_forget_lifts_every_counter_of_a_number(harness: Harness) -> None:
    limiter = harness.limiter
    for i in range(10):
        for _ in range(3):
            attempt(limiter, f"bot-{i}")
        attempt(limiter, f"bot-{i}", "2611000001")
    assert isinstance(attempt(limiter, "bot-0"), Denial)
    limiter.forget([NUMERO])
    assert attempt(limiter, "bot-0") is None
    assert attempt(limiter, "bot-0") is None, "no delay, no attack left"
    assert len(harness.stored()) > 10, "other numbers' and askers' counters are kept"
