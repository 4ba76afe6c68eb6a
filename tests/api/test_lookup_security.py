"""Anti-enumeration and attempt limits of the lookup, through HTTP, with the counters in
SQLite, PostgreSQL and Redis (`limited_client`)."""

import gc
import statistics
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from fastapi.testclient import TestClient
from redis import Redis
from sqlalchemy import select

from api.context import AppContext
from api.models import AttemptCounter, LookupLock
from api.ratelimit import Asker, Counter
from tests.api.conftest import bearer, context_of
from tests.api.test_lookup import lookup

NUMERO = "2611000003"
RIGHT_DATE = "1955-11-30"  # of 2611000003


def wrong_date(i: int) -> str:
    return f"1956-{i // 28 % 12 + 1:02d}-{i % 28 + 1:02d}"


def stored_counters(context: AppContext) -> dict[str, str]:
    """Every attempt counter as stored, subject (or Redis key) -> its whole content as text."""
    settings = context.settings
    if not settings.redis_url:
        with context.counter_engine.connect() as connection:
            rows = connection.execute(select(AttemptCounter.__table__)).mappings().all()
        return {row["subject"]: repr(dict(row)) for row in rows}
    with Redis.from_url(settings.redis_url) as redis:
        return {
            key.decode(): repr(redis.hgetall(key) if redis.type(key) == b"hash" else b"list")
            for key in redis.scan_iter(f"{settings.redis_prefix}:*")
        }


def pair_counter(context: AppContext, asker_header: str, numero: str) -> Counter:
    """The (asker, number) counter of a lookup sent with this X-Guichet-Asker."""
    subject = context.limiter.keyer.subjects(Asker(f"asker:{asker_header}"), numero).pair
    settings = context.settings
    if settings.redis_url:
        with Redis.from_url(settings.redis_url) as redis:
            raw = redis.hgetall(f"{settings.redis_prefix}:limits:{subject}")
        return Counter(
            int(raw[b"failures"]),
            float(raw[b"window_ends"]),
            int(raw[b"pending"]),
            float(raw[b"pending_until"]),
            float(raw[b"blocked_until"]),
        )
    with context.counter_engine.connect() as connection:
        row = connection.execute(
            select(AttemptCounter).where(AttemptCounter.subject == subject)
        ).one()
    return Counter(row.failures, row.window_ends, row.pending, row.pending_until, row.blocked_until)


def attack_records(context: AppContext) -> list[tuple[str, int]]:
    with context.sessionmaker() as session:
        return [(lock.numero, lock.failures) for lock in session.scalars(select(LookupLock))]


def test_three_wrong_dates_then_a_delay_for_that_asker_only(limited_client: TestClient) -> None:
    client = limited_client
    for i in range(3):
        assert lookup(client, NUMERO, wrong_date(i), asker="typo").status_code == 404
    delayed = lookup(client, NUMERO, RIGHT_DATE, asker="typo")
    assert delayed.status_code == 429
    assert 59 <= int(delayed.headers["Retry-After"]) <= 60
    assert delayed.json() == {"detail": "Trop d'essais pour ce numéro. Réessayez plus tard."}
    assert lookup(client, NUMERO, RIGHT_DATE, asker="owner").status_code == 200
    assert lookup(client, NUMERO, RIGHT_DATE).status_code == 200, "no header: the address"


def test_a_flood_from_one_asker_leaves_another_asker_in_at_once(
    limited_client: TestClient,
) -> None:
    client = limited_client
    statuses = [
        lookup(client, f"26110{i:05d}", wrong_date(i), asker="script").status_code
        for i in range(100)
    ] + [lookup(client, NUMERO, wrong_date(i), asker="script").status_code for i in range(100)]
    assert statuses.count(404) == 20, "twenty wrong dates a day"
    assert statuses.count(429) == 180
    assert lookup(client, NUMERO, RIGHT_DATE, asker="script").status_code == 429
    answer = lookup(client, NUMERO, RIGHT_DATE, asker="someone-else", conversation="c-2")
    assert answer.status_code == 200 and answer.json()["numero"] == NUMERO
    assert lookup(client, "2611000001", "1948-03-12", asker="a-third").status_code == 200


def test_a_flood_of_lookups_from_one_conversation(limited_client: TestClient) -> None:
    client = limited_client
    statuses = [
        lookup(client, "2611000001", "1948-03-12", asker=f"ip-{i}", conversation="conv-x")
        for i in range(12)
    ]
    assert [s.status_code for s in statuses] == [200] * 10 + [429] * 2
    assert 1 <= int(statuses[-1].headers["Retry-After"]) <= 60
    assert statuses[-1].json()["detail"].startswith("Trop de demandes")
    ok = lookup(client, "2611000001", "1948-03-12", asker="ip-0", conversation="conv-y")
    assert ok.status_code == 200


def test_thirty_lookups_a_minute_per_asker(limited_client: TestClient) -> None:
    client = limited_client
    statuses = [
        lookup(client, "2611000001", "1948-03-12", asker="busy-kiosk").status_code
        for _ in range(31)
    ]
    assert statuses == [200] * 30 + [429]
    assert lookup(client, "2611000001", "1948-03-12", asker="calm").status_code == 200


def test_an_attacker_never_stops_the_owner(
    limited_client: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    client = limited_client
    context = context_of(client)
    with caplog.at_level("INFO"):
        statuses = [
            lookup(client, NUMERO, wrong_date(i), asker=f"bot-{i % 40}").status_code
            for i in range(200)
        ]
    # The thirtieth wrong date starts the attack: from then on, each bot has had one try only
    # (without it, each would have had three).
    assert statuses.count(404) == 40
    assert attack_records(context) == [(NUMERO, 30)], "recorded once, for the back office"
    warnings = [
        r.getMessage()
        for r in caplog.records
        if r.levelname == "WARNING" and r.getMessage().startswith("lookup")
    ]
    assert warnings == [
        "lookup 26******03: under attack after 30 wrong dates from all askers; "
        "askers who failed on it are refused"
    ]
    assert NUMERO not in "\n".join(r.getMessage() for r in caplog.records)
    # Under attack: an asker who failed is refused even with the right date...
    refused = lookup(client, NUMERO, RIGHT_DATE, asker="bot-0")
    assert refused.status_code == 429
    assert 86_000 <= int(refused.headers["Retry-After"]) <= 86_400
    # ...the owner, who never failed, gets in at once...
    assert lookup(client, NUMERO, RIGHT_DATE, asker="owner").status_code == 200
    # ...and a newcomer gets one try, not two.
    assert lookup(client, NUMERO, wrong_date(500), asker="newcomer").status_code == 404
    assert lookup(client, NUMERO, RIGHT_DATE, asker="newcomer").status_code == 429
    assert attack_records(context) == [(NUMERO, 30)]


def test_unknown_and_known_numbers_are_limited_alike(limited_client: TestClient) -> None:
    client = limited_client
    known = [lookup(client, "2611000002", f"1961-07-1{d}", asker="k") for d in range(6)]
    unknown = [lookup(client, "9911000002", f"1961-07-1{d}", asker="u") for d in range(6)]
    for a, b in zip(known, unknown, strict=True):
        assert (a.status_code, a.content) == (b.status_code, b.content)
        assert a.headers.get("Retry-After") == b.headers.get("Retry-After")
    assert [response.status_code for response in known] == [404] * 3 + [429] * 3


def _parallel(client: TestClient, tries: int, numero_of, asker: str = "racer") -> list[int]:  # type: ignore[no-untyped-def]
    barrier = threading.Barrier(tries)

    def attempt(i: int) -> int:
        barrier.wait()
        return lookup(client, numero_of(i), wrong_date(i), asker=asker).status_code

    with ThreadPoolExecutor(max_workers=tries) as pool:
        return list(pool.map(attempt, range(tries)))


def test_fifty_parallel_wrong_tries_on_one_number_verify_three(
    limited_client: TestClient,
) -> None:
    client = limited_client
    statuses = _parallel(client, 50, lambda i: NUMERO)
    assert statuses.count(404) == 3 and statuses.count(429) == 47
    counter = pair_counter(context_of(client), "racer", NUMERO)
    assert (counter.failures, counter.pending) == (3, 0)
    assert counter.blocked_until > time.time() + 55
    assert lookup(client, NUMERO, RIGHT_DATE, asker="racer").status_code == 429
    assert lookup(client, NUMERO, RIGHT_DATE, asker="owner").status_code == 200


def test_fifty_parallel_wrong_tries_on_many_numbers_verify_twenty(
    limited_client: TestClient,
    configure,  # type: ignore[no-untyped-def]
) -> None:
    client = configure(GUICHET_LOOKUP_ASKER_PER_MINUTE="1000")
    statuses = _parallel(client, 50, lambda i: f"26112{i:05d}")
    assert statuses.count(404) == 20 and statuses.count(429) == 30


def test_counters_hold_no_number_nor_asker_in_clear(limited_client: TestClient) -> None:
    client = limited_client
    for i in range(4):
        lookup(client, NUMERO, wrong_date(i), asker="a1b2c3d4e5", conversation="conv-secret")
    lookup(client, "2611000005", "1972-05-21", asker="a1b2c3d4e5", conversation="conv-secret")
    counters = stored_counters(context_of(client))
    assert len(counters) >= 3  # the asker, its pair with the number, the number
    text = repr(counters)
    for secret in (NUMERO, "2611000005", "26110000", "a1b2c3d4e5", "conv-secret", "testclient"):
        assert secret not in text


def test_purge_expired_deletes_what_is_over(limited_client: TestClient) -> None:
    client = limited_client
    for i in range(3):
        lookup(client, NUMERO, wrong_date(i), asker="old")
    limiter = context_of(client).limiter
    assert limiter.purge_expired() == 0
    assert (
        len([s for s in stored_counters(context_of(client)) if ":p:" in s or s.startswith("p:")])
        == 1
    )
    assert limiter.purge_expired(time.time() + 86_401) == 3
    assert lookup(client, NUMERO, wrong_date(9), asker="old").status_code == 404


def test_reset_demo_lifts_the_limits_of_the_demo_numbers(
    limited_client: TestClient,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from api.seed import main as seed_main

    client = limited_client
    for i in range(4):
        lookup(client, NUMERO, wrong_date(i), asker="demo-visitor")
    assert lookup(client, NUMERO, RIGHT_DATE, asker="demo-visitor").status_code == 429
    monkeypatch.setattr("sys.argv", ["api.seed", "--reset"])
    seed_main()
    assert lookup(client, NUMERO, RIGHT_DATE, asker="demo-visitor").status_code == 200


def test_unknown_number_and_wrong_date_take_the_same_time(
    client: TestClient,
    configure,  # type: ignore[no-untyped-def]
) -> None:
    client = configure(
        GUICHET_LOOKUP_FREE_FAILURES="100000",
        GUICHET_LOOKUP_ASKER_MAX_FAILURES="100000",
        GUICHET_LOOKUP_NUMERO_ATTACK_FAILURES="100000",
        GUICHET_LOOKUP_ASKER_PER_MINUTE="100000",
    )
    headers = bearer()

    def timed(numero: str, birth_date: str) -> float:
        start = time.perf_counter()
        response = client.post(
            "/v1/dossiers/lookup",
            json={"numero": numero, "date_naissance": birth_date},
            headers=headers,
        )
        elapsed = time.perf_counter() - start
        assert response.status_code == 404
        return elapsed

    for i in range(30):  # warm-up: connections, caches, code paths
        timed("2611000004", f"1999-02-{i % 28 + 1:02d}")
        timed(f"99{i:08d}", "1999-01-15")
    wrong, unknown = [], []
    gc.disable()
    try:
        # Interleaved, so that any drift of the machine touches both kinds alike.
        for i in range(200):
            pair = [
                (wrong, "2611000004", f"1999-02-{i % 28 + 1:02d}"),
                (unknown, f"98{i:08d}", "1999-01-15"),
            ]
            for samples, numero, birth_date in pair if i % 2 else reversed(pair):
                samples.append(timed(numero, birth_date))
    finally:
        gc.enable()
    fast, slow = sorted((statistics.median(wrong), statistics.median(unknown)))
    assert slow <= fast * 1.2, f"medians differ: {fast * 1e3:.2f} ms vs {slow * 1e3:.2f} ms"


@pytest.mark.parametrize("numero", ["2611000002", "26 11 000 002"])
def test_logs_hold_no_number_nor_birth_date(
    client: TestClient, caplog: pytest.LogCaptureFixture, numero: str
) -> None:
    with caplog.at_level("DEBUG"):
        lookup(client, numero, "1961-07-04")
        lookup(client, numero, "1961-07-05")
        lookup(client, numero, "05/07/1961")
    text = "\n".join(record.getMessage() for record in caplog.records)
    assert "26******02" in text
    for secret in ("2611000002", "1961-07-04", "1961-07-05", "05/07/1961", "1961"):
        assert secret not in text
