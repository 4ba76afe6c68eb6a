"""Benchmark successful dossier lookups: `python -m bench.api_lookup` (or `make bench`).

For each database (a temporary SQLite file, then a temporary PostgreSQL database), seed the
demo dossiers, start a real uvicorn with several workers on a free loopback port, and run 50
concurrent clients doing successful lookups, in two phases:

- saturation: each client sends its next lookup as soon as the previous one is answered, for
  a fixed number of lookups: the most lookups per second the server gives;
- paced: the clients together offer a fixed rate (500 lookups/s by default) for a fixed time:
  the latency a caller sees at that load. It is measured from the moment each request was due,
  so a server that falls behind is not flattered (no coordinated omission).

With 50 clients that never pause, latency is 50 / throughput by Little's law: the paced phase
is the one that answers "p95 at 500 lookups/s". The attempt limits stay on (the same code
path), with the per-minute caps raised so that they never refuse a benchmark lookup. Lookups
come from 50 people (X-Guichet-Asker and X-Guichet-Conversation headers, as the action
server sends them), so that the counters are spread as real traffic spreads them.

The client is a minimal HTTP/1.1 keep-alive client on asyncio, so that the load generator takes
as little as possible of the CPU it shares with the server.
"""

import argparse
import asyncio
import json
import os
import platform
import secrets
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import psycopg
import yaml
from sqlalchemy import make_url

ROOT = Path(__file__).resolve().parent.parent
HOST = "127.0.0.1"
FIXTURE = ROOT / "api" / "fixtures" / "demo_dossiers.yaml"
DEFAULT_PG_ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
ASKERS = 50


@dataclass
class Phase:
    """What one phase measured."""

    name: str
    lookups: int
    errors: int
    seconds: float
    latencies_ms: list[float]

    def percentile(self, fraction: float) -> float:
        ordered = sorted(self.latencies_ms)
        return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]

    def summary(self) -> dict[str, float | int | str]:
        return {
            "phase": self.name,
            "lookups": self.lookups,
            "errors": self.errors,
            "lookups_per_s": round(self.lookups / self.seconds, 1),
            "p50_ms": round(statistics.median(self.latencies_ms), 2),
            "p95_ms": round(self.percentile(0.95), 2),
            "p99_ms": round(self.percentile(0.99), 2),
        }


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def lookup_requests(port: int, token: str, askers: int = ASKERS) -> list[bytes]:
    """Ready-to-send requests: each demo dossier with its right date of birth, from each of
    `askers` people (one asker hash and one conversation each)."""
    entries = yaml.safe_load(FIXTURE.read_text(encoding="utf-8"))["dossiers"]
    requests = []
    for asker in range(askers):
        for entry in entries:
            body = json.dumps(
                {"numero": entry["numero"], "date_naissance": entry["date_naissance"]}
            ).encode()
            head = (
                f"POST /v1/dossiers/lookup HTTP/1.1\r\nHost: {HOST}:{port}\r\n"
                f"Authorization: Bearer {token}\r\nContent-Type: application/json\r\n"
                f"X-Guichet-Asker: bench-asker-{asker:03d}\r\n"
                f"X-Guichet-Conversation: bench-conversation-{asker:03d}\r\n"
                f"Content-Length: {len(body)}\r\n\r\n"
            ).encode()
            requests.append(head + body)
    return requests


class Connection:
    """One keep-alive HTTP/1.1 connection that sends a request and reads its answer."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer

    @classmethod
    async def open(cls, port: int) -> "Connection":
        reader, writer = await asyncio.open_connection(HOST, port)
        return cls(reader, writer)

    async def send(self, request: bytes) -> int:
        """Send `request`; return the status code once the whole answer is read."""
        self.writer.write(request)
        head = await self.reader.readuntil(b"\r\n\r\n")
        status = int(head[9:12])
        length = 0
        for line in head.split(b"\r\n"):
            if line.lower().startswith(b"content-length:"):
                length = int(line.split(b":", 1)[1])
        await self.reader.readexactly(length)
        return status

    def close(self) -> None:
        self.writer.close()


async def saturation(port: int, requests: list[bytes], clients: int, total: int) -> Phase:
    """Closed loop: every client sends its next lookup as soon as it has an answer."""
    latencies: list[float] = []
    errors = 0
    remaining = total

    async def client(index: int) -> None:
        nonlocal errors, remaining
        connection = await Connection.open(port)
        i = index
        try:
            while remaining > 0:
                remaining -= 1
                start = time.perf_counter()
                status = await connection.send(requests[i % len(requests)])
                latencies.append((time.perf_counter() - start) * 1000)
                errors += status != 200
                i += clients
        finally:
            connection.close()

    start = time.perf_counter()
    await asyncio.gather(*(client(i) for i in range(clients)))
    return Phase("saturation", len(latencies), errors, time.perf_counter() - start, latencies)


async def paced(
    port: int, requests: list[bytes], clients: int, rate: float, seconds: float
) -> Phase:
    """Open loop: lookups are due at `rate` per second in all, spread over the clients."""
    latencies: list[float] = []
    errors = 0
    interval = clients / rate
    begin = time.perf_counter() + 0.1

    async def client(index: int) -> None:
        nonlocal errors
        connection = await Connection.open(port)
        due = begin + index * interval / clients
        i = index
        try:
            while due < begin + seconds:
                delay = due - time.perf_counter()
                if delay > 0:
                    await asyncio.sleep(delay)
                status = await connection.send(requests[i % len(requests)])
                latencies.append((time.perf_counter() - due) * 1000)
                errors += status != 200
                due += interval
                i += clients
        finally:
            connection.close()

    await asyncio.gather(*(client(i) for i in range(clients)))
    elapsed = max(time.perf_counter() - begin, seconds)
    return Phase(f"paced {rate:.0f}/s", len(latencies), errors, elapsed, latencies)


def bench_env(database_url: str, token: str, redis_url: str) -> dict[str, str]:
    """The API's environment: temporary database, fresh secrets, limits out of the way."""
    return {
        **os.environ,
        "DATABASE_URL": database_url,
        "GUICHET_ENV": "development",
        "GUICHET_ASSISTANT_TOKEN": token,
        "GUICHET_INSTRUCTION_TOKEN": secrets.token_urlsafe(24),
        "GUICHET_ADMIN_TOKEN": secrets.token_urlsafe(24),
        "GUICHET_DOB_HASH_KEY": secrets.token_urlsafe(24),
        "GUICHET_REDIS_URL": redis_url,
        "GUICHET_REDIS_PREFIX": f"guichet-bench-{uuid.uuid4().hex[:8]}",
        # Every lookup still goes through every limit; these values only keep the per-minute
        # caps from refusing a benchmark that sends thousands of lookups a minute per asker.
        # (Right dates never count as failures, so the other limits never refuse.)
        "GUICHET_LOOKUP_ASKER_PER_MINUTE": "100000000",
        "GUICHET_LOOKUP_CONVERSATION_PER_MINUTE": "100000000",
    }


@contextmanager
def api_server(env: dict[str, str], workers: int):  # type: ignore[no-untyped-def]
    """Seed, start uvicorn on a free loopback port, yield the port, stop it."""
    subprocess.run([sys.executable, "-m", "api.seed"], cwd=ROOT, env=env, check=True)
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "api.asgi:app", "--host", HOST, "--port", str(port),
         "--workers", str(workers), "--no-access-log", "--log-level", "warning"],
        cwd=ROOT,
        env=env,
        start_new_session=True,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"http://{HOST}:{port}/ready", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                raise SystemExit("uvicorn did not start: see its output above")
            time.sleep(0.2)
        yield port
    finally:
        process.terminate()
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@contextmanager
def sqlite_database():  # type: ignore[no-untyped-def]
    with tempfile.TemporaryDirectory(prefix="guichet-bench-") as directory:
        yield f"sqlite:///{Path(directory) / 'guichet.db'}"


@contextmanager
def postgresql_database(admin_url: str):  # type: ignore[no-untyped-def]
    name = f"guichet_bench_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(admin_url, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        url = make_url(admin_url).set(drivername="postgresql+psycopg", database=name)
        yield url.render_as_string(hide_password=False)
    finally:
        with psycopg.connect(admin_url, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


async def run_phases(port: int, token: str, args: argparse.Namespace) -> list[Phase]:
    requests = lookup_requests(port, token)
    await saturation(port, requests, args.clients, 500)  # warm-up: pools, caches, workers
    return [
        await saturation(port, requests, args.clients, args.lookups),
        await paced(port, requests, args.clients, args.rate, args.seconds),
    ]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--databases", default="sqlite,postgresql")
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--lookups", type=int, default=10_000, help="saturation phase")
    parser.add_argument("--rate", type=float, default=500, help="paced phase, lookups/s")
    parser.add_argument("--seconds", type=float, default=20, help="paced phase duration")
    parser.add_argument(
        "--redis-url", default="", help="keep the attempt counters in this Redis (default: DB)"
    )
    parser.add_argument(
        "--pg-admin-url", default=os.environ.get("GUICHET_BENCH_PG_URL", DEFAULT_PG_ADMIN_URL)
    )
    args = parser.parse_args()
    print(
        f"# {platform.platform()}, {os.cpu_count()} CPU, Python {platform.python_version()}; "
        f"{args.workers} uvicorn workers, {args.clients} clients, all on this machine; "
        f"attempt counters in {'Redis' if args.redis_url else 'the database'}"
    )
    failed = False
    for database in args.databases.split(","):
        databases = {
            "sqlite": sqlite_database,
            "postgresql": lambda: postgresql_database(args.pg_admin_url),
        }
        token = secrets.token_urlsafe(24)
        with (
            databases[database]() as url,
            api_server(bench_env(url, token, args.redis_url), args.workers) as port,
        ):
            for phase in asyncio.run(run_phases(port, token, args)):
                result = {"database": database, **phase.summary()}
                print(json.dumps(result), flush=True)
                failed |= phase.errors > 0
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
