"""Anti-enumeration and attempt limits of the lookup, on SQLite and PostgreSQL (and Redis)."""

import gc
import statistics
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
from fastapi.testclient import TestClient
from redis import Redis
from sqlalchemy import select

from api.db import get_counter_engine, get_sessionmaker
from api.models import AttemptCounter, LookupLock
from api.ratelimit import numero_subject
from tests.api.conftest import bearer
from tests.api.test_lookup import lookup

RIGHT_DATE = "1955-11-30"  # of 2611000003


def test_five_wrong_dates_lock_the_number_even_for_the_right_date(client: TestClient) -> None:
    for day in range(1, 6):
        assert lookup(client, "2611000003", f"1955-11-0{day}").status_code == 404
    locked = lookup(client, "2611000003", RIGHT_DATE)
    assert locked.status_code == 429
    assert 890 <= int(locked.headers["Retry-After"]) <= 900
    with get_sessionmaker()() as session:
        locks = session.scalars(select(LookupLock)).all()
    assert [(lock.numero, lock.failures) for lock in locks] == [("2611000003", 5)]
    assert lookup(client, "2611000001", "1948-03-12").status_code == 200, "others unaffected"


def test_four_wrong_dates_then_the_right_one_is_answered(client: TestClient) -> None:
    for day in range(1, 5):
        assert lookup(client, "2611000003", f"1955-11-0{day}").status_code == 404
    assert lookup(client, "2611000003", RIGHT_DATE).status_code == 200


def test_unknown_and_known_numbers_lock_alike(client: TestClient) -> None:
    known = [lookup(client, "2611000002", f"1961-07-1{day}") for day in range(7)]
    unknown = [lookup(client, "9911000002", f"1961-07-1{day}") for day in range(7)]
    for a, b in zip(known, unknown, strict=True):
        assert (a.status_code, a.content) == (b.status_code, b.content)
        assert a.headers.get("Retry-After") == b.headers.get("Retry-After")
    assert [response.status_code for response in known] == [404] * 5 + [429] * 2


def test_client_limit_per_minute(client: TestClient, configure) -> None:  # type: ignore[no-untyped-def]
    configure(GUICHET_LOOKUP_CLIENT_PER_MINUTE="3")
    answers = [lookup(client, "2611000001", "1948-03-12").status_code for _ in range(4)]
    assert answers == [200, 200, 200, 429]
    refused = lookup(client, "2611000005", "1972-05-21")
    assert refused.status_code == 429 and 1 <= int(refused.headers["Retry-After"]) <= 60


def _parallel_wrong_tries(client: TestClient, tries: int = 50) -> list[int]:
    barrier = threading.Barrier(tries)

    def attempt(i: int) -> int:
        barrier.wait()
        return lookup(client, "2611000003", f"1956-01-{i % 28 + 1:02d}").status_code

    with ThreadPoolExecutor(max_workers=tries) as pool:
        return list(pool.map(attempt, range(tries)))


def test_fifty_parallel_wrong_tries_count_exactly_the_limit(client: TestClient) -> None:
    statuses = _parallel_wrong_tries(client)
    assert statuses.count(404) == 5 and statuses.count(429) == 45
    with get_counter_engine().connect() as connection:
        counter = connection.execute(
            select(AttemptCounter).where(AttemptCounter.subject == numero_subject("2611000003"))
        ).one()
    assert (counter.failures, counter.attempts) == (5, 5)
    assert counter.locked_until is not None and counter.locked_until > time.time() + 800
    with get_sessionmaker()() as session:
        assert len(session.scalars(select(LookupLock)).all()) == 1
    assert lookup(client, "2611000003", RIGHT_DATE).status_code == 429


def test_fifty_parallel_wrong_tries_with_redis(
    client: TestClient,
    configure,  # type: ignore[no-untyped-def]
    redis_url: str,
) -> None:
    prefix = f"guichet-test-{uuid.uuid4().hex[:8]}"
    configure(GUICHET_REDIS_URL=redis_url, GUICHET_REDIS_PREFIX=prefix)
    redis = Redis.from_url(redis_url)
    try:
        statuses = _parallel_wrong_tries(client)
        assert statuses.count(404) == 5 and statuses.count(429) == 45
        counter = redis.hgetall(f"{prefix}:limits:{numero_subject('2611000003')}")
        assert (int(counter[b"failures"]), int(counter[b"attempts"])) == (5, 5)
        assert float(counter[b"locked_until"]) > time.time() + 800
        with get_sessionmaker()() as session:
            assert len(session.scalars(select(LookupLock)).all()) == 1, "the lock is recorded"
        assert lookup(client, "2611000003", RIGHT_DATE).status_code == 429
    finally:
        keys = list(redis.scan_iter(f"{prefix}:*"))
        if keys:
            redis.delete(*keys)
        redis.close()


def test_unknown_number_and_wrong_date_take_the_same_time(client: TestClient, configure) -> None:  # type: ignore[no-untyped-def]
    configure(GUICHET_LOOKUP_MAX_FAILURES="100000", GUICHET_LOOKUP_CLIENT_PER_MINUTE="100000")
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
    wrong_date, unknown = [], []
    gc.disable()
    try:
        # Interleaved, so that any drift of the machine touches both kinds alike.
        for i in range(200):
            pair = [
                (wrong_date, "2611000004", f"1999-02-{i % 28 + 1:02d}"),
                (unknown, f"98{i:08d}", "1999-01-15"),
            ]
            for samples, numero, birth_date in pair if i % 2 else reversed(pair):
                samples.append(timed(numero, birth_date))
    finally:
        gc.enable()
    fast, slow = sorted((statistics.median(wrong_date), statistics.median(unknown)))
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
