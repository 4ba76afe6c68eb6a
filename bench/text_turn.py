"""Text-turn benchmark: plain Rasa and Guichet side by side, `python -m bench.text_turn`
(or `make bench-text`).

Both systems hold the same four-turn conversation ("Bonjour", "Où en est mon dossier ?", the
request number, the date of birth) under the same open-loop load (bench/loadgen.py): new
conversations arrive at a fixed rate so that R messages a second are offered, turns are due
every 2 s from the conversation's start, and latency is counted from when each message was due.

- plain Rasa: the rules-only project of bench/plain_rasa/ (no custom action, SQLite tracker
  store), trained into var/bench/ when its files changed, driven through Rasa's REST webhook;
- Guichet: API + chat door, action server and Rasa as `make run` starts them
  (scripts.services), on free ports with a temporary seeded database and tracker store and
  fresh secrets, driven through the public chat door, each person from its own loopback
  address and with its own cookie. `--layout embedded` (the default) is `make run`: one
  process of each kind, SQLite, an in-memory lock store. `--layout scaled` is `make
  run-scaled` (docs/scaling.md): `--rasa-processes` Rasa processes (the door spreads the
  conversations over them), `--api-workers` and `--action-workers` workers, on a fresh
  PostgreSQL database (API and tracker store, dropped at the end) and a Redis index (lock
  store and the API's limits, emptied before and after) prepared by scripts/scaled.py.

Every answer is checked: the three first against the domain's responses, the last one against
the dossier asked about (the demo dossiers of api/fixtures/demo_dossiers.yaml, round-robin;
the procedure label of the catalogue, and the domain's response for the dossier's status).
A wrong, refused, failed or missing answer is an error. The rate climbs a ladder and stops for
a system once its p95 passes a few seconds. Everything stays on the loopback interface.
"""

import argparse
import asyncio
import hashlib
import json
import os
import platform
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import asdict, dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

import yaml

from api.chat_door import COOKIE_NAME
from bench.loadgen import (
    HOST,
    TURN_NAMES,
    HttpSession,
    StepResult,
    Turn,
    addresses,
    conversation_starts,
    expect,
    group_cpu_seconds,
    group_members,
    held_rate,
    proc_snapshot,
    process_cpu_seconds,
    response_pattern,
    run_step,
)
from guichet import responses
from guichet.catalogue import load_catalogue
from scripts.ensure_env import SECRET_KEYS
from scripts.paths import MODEL_PATH, RASA_PYTHON, ROOT, VAR_DIR, rasa_env
from scripts.services import Ports, Service, Stack, StackError, build_services

PLAIN_DIR = ROOT / "bench" / "plain_rasa"
BENCH_VAR = VAR_DIR / "bench"
PLAIN_MODEL = BENCH_VAR / "plain_rasa" / "plain.tar.gz"
PLAIN_FINGERPRINT = PLAIN_MODEL.with_name("plain.fingerprint")
LOG_DIR = BENCH_VAR / "logs"
FIXTURE = ROOT / "api" / "fixtures" / "demo_dossiers.yaml"
GUICHET_DOMAIN = ROOT / "assistant" / "domain"
RASA_LOCK = ROOT / "requirements" / "rasa.lock"
DEFAULT_RATES = "1,5,10,15,20,30"
# Every lookup still goes through every attempt limit; these caps only keep a benchmark that
# sends many lookups a minute from being refused (docs/performance.md).
LOOKUP_CAPS = {
    "GUICHET_LOOKUP_ASKER_PER_MINUTE": "100000000",
    "GUICHET_LOOKUP_CONVERSATION_PER_MINUTE": "100000000",
}
SYSTEMS = ("plain", "guichet")
LABELS = {"plain": "plain Rasa", "guichet": "Guichet"}
LAYOUTS = ("embedded", "scaled")
# The scaled layout's Redis database index: not make run-scaled's (1), nor the scaling
# tests' (10-15); emptied before and after a run.
BENCH_REDIS_DB = 3


def say(line: str) -> None:
    print(line, flush=True)


# --- What the conversation says and expects.


@dataclass(frozen=True)
class Dossier:
    numero: str
    date_naissance: date
    demarche: str
    statut: str

    @property
    def typed_date(self) -> str:
        """The date of birth as people type it: 12/03/1948."""
        return self.date_naissance.strftime("%d/%m/%Y")


def demo_dossiers(path: Path = FIXTURE) -> list[Dossier]:
    entries = yaml.safe_load(path.read_text(encoding="utf-8"))["dossiers"]
    return [
        Dossier(
            numero=str(e["numero"]),
            date_naissance=date.fromisoformat(str(e["date_naissance"])),
            demarche=e["demarche"],
            statut=e["statut"],
        )
        for e in entries
    ]


def domain_responses(path: Path) -> dict[str, list[str]]:
    """Each response's text variations for the chat (voice-only variations left out), from a
    domain file or a folder of them."""
    files = sorted(path.rglob("*.yml")) if path.is_dir() else [path]
    found: dict[str, list[str]] = {}
    for file in files:
        data = yaml.safe_load(file.read_text(encoding="utf-8")) or {}
        for name, variations in (data.get("responses") or {}).items():
            found.setdefault(name, []).extend(
                v["text"] for v in variations if "text" in v and "channel" not in v
            )
    return found


def guichet_turns(domain: dict[str, list[str]], dossiers: list[Dossier]) -> Callable:
    """The conversation of person `index` with Guichet, and what each answer must hold."""
    catalogue = load_catalogue()

    def pattern(name: str, **known: str) -> Any:
        if name not in domain:
            raise SystemExit(f"[bench] the Guichet domain has no response {name}")
        return response_pattern(domain[name], **known)

    greet = expect(pattern("utter_greet"))
    ask_number = expect(pattern("utter_ask_dossier_status_form_numero_dossier"))
    ask_date = expect(pattern("utter_ask_dossier_status_form_date_naissance"))
    status_checks = {}
    for dossier in dossiers:
        status = responses.status(dossier.statut)
        if status not in domain:  # as the action does: the generic answer with the label
            status = responses.STATUS_OTHER
        label = catalogue.statuses[dossier.statut].label
        procedure = catalogue.procedures[dossier.demarche].label
        status_checks[dossier.numero] = expect(
            pattern("utter_dossier_demarche", demarche=procedure),
            pattern(status, statut=label),
        )

    def conversation(index: int) -> list[Turn]:
        dossier = dossiers[index % len(dossiers)]
        return [
            Turn("greet", "Bonjour", greet),
            Turn("ask", "Où en est mon dossier ?", ask_number),
            Turn("number", dossier.numero, ask_date),
            Turn("date", dossier.typed_date, status_checks[dossier.numero]),
        ]

    return conversation


def plain_turns(domain: dict[str, list[str]], dossiers: list[Dossier]) -> Callable:
    """The same conversation with plain Rasa, whose last answer is fixed."""
    checks = [
        expect(response_pattern(domain[name]))
        for name in ("utter_greet", "utter_ask_numero", "utter_ask_date", "utter_status")
    ]

    def conversation(index: int) -> list[Turn]:
        dossier = dossiers[index % len(dossiers)]
        messages = ("Bonjour", "Où en est mon dossier ?", dossier.numero, dossier.typed_date)
        return [Turn(*turn) for turn in zip(TURN_NAMES, messages, checks, strict=True)]

    return conversation


# --- The two systems, as the load generator sees them.


def _decoded(body: bytes) -> Any:
    try:
        return json.loads(body)
    except ValueError:
        return None


class PlainChat:
    """A person talking to Rasa's REST channel under a sender id of their own."""

    def __init__(self, port: int, address: str) -> None:
        self.session = HttpSession(port, address)
        self.sender = uuid.uuid4().hex

    async def say(self, message: str) -> tuple[int, Any]:
        response = await self.session.post_json(
            "/webhooks/rest/webhook", {"sender": self.sender, "message": message}, {}
        )
        return response.status, _decoded(response.body)

    def close(self) -> None:
        self.session.close()


class DoorChat:
    """A browser talking to Guichet's chat door: the conversation is the door's cookie."""

    def __init__(self, port: int, address: str) -> None:
        self.session = HttpSession(port, address)
        self.cookie: str | None = None

    async def say(self, message: str) -> tuple[int, Any]:
        headers = {"Cookie": f"{COOKIE_NAME}={self.cookie}"} if self.cookie else {}
        response = await self.session.post_json("/chat/messages", {"message": message}, headers)
        for value in response.header_values("set-cookie"):
            name, _, rest = value.partition("=")
            if name.strip() == COOKIE_NAME:
                self.cookie = rest.split(";", 1)[0]
        return response.status, _decoded(response.body)

    def close(self) -> None:
        self.session.close()


@dataclass
class SystemUnderTest:
    name: str
    port: int
    chat_class: type
    turns: Callable[[int], list[Turn]]

    def chat(self, address: str) -> Any:
        return self.chat_class(self.port, address)

    def conversation(self, index: int) -> list[Turn]:
        return self.turns(index)


# --- Starting them.


def free_port() -> int:
    return free_ports(1)[0]


def free_ports(count: int) -> list[int]:
    """`count` distinct free ports (each socket is held until all are picked)."""
    with ExitStack() as held:
        sockets = [held.enter_context(socket.socket()) for _ in range(count)]
        for sock in sockets:
            sock.bind((HOST, 0))
        return [sock.getsockname()[1] for sock in sockets]


def plain_fingerprint(project: Path = PLAIN_DIR, lock: Path = RASA_LOCK) -> str:
    """Hash of the plain project's files and of the Rasa lock: what its model depends on."""
    digest = hashlib.sha256()
    for file in sorted(p for p in project.rglob("*") if p.is_file()):
        digest.update(str(file.relative_to(project)).encode())
        digest.update(file.read_bytes())
    digest.update(lock.read_bytes())
    return digest.hexdigest()


def ensure_plain_model() -> None:
    """Train plain Rasa into var/bench/ unless its model is from the current files."""
    current = plain_fingerprint()
    if (
        PLAIN_MODEL.exists()
        and PLAIN_FINGERPRINT.exists()
        and PLAIN_FINGERPRINT.read_text().strip() == current
    ):
        return
    PLAIN_MODEL.parent.mkdir(parents=True, exist_ok=True)
    LOG_DIR.mkdir(parents=True, exist_ok=True)
    log = LOG_DIR / "plain_train.log"
    say(f"[bench] training plain Rasa (bench/plain_rasa/, about a minute; log {log})…")
    with log.open("wb") as out:
        result = subprocess.run(
            [str(RASA_PYTHON), "-m", "rasa", "train",
             "--config", str(PLAIN_DIR / "config.yml"),
             "--domain", str(PLAIN_DIR / "domain.yml"),
             "--data", str(PLAIN_DIR / "data"),
             "--out", str(PLAIN_MODEL.parent),
             "--fixed-model-name", "plain"],
            cwd=ROOT, env=rasa_env(), stdout=out, stderr=subprocess.STDOUT,
        )  # fmt: skip
    if result.returncode != 0:
        sys.exit(f"[bench] plain Rasa training failed (code {result.returncode}), see {log}")
    PLAIN_FINGERPRINT.write_text(current)


def _fresh_log(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.unlink(missing_ok=True)
    return path


@contextmanager
def started(services: list[Service]) -> Iterator[Stack]:
    stack = Stack(services)
    stack.start(report=say)
    try:
        yield stack
    finally:
        stack.stop()


@contextmanager
def plain_rasa(workdir: Path) -> Iterator[tuple[SystemUnderTest, Stack]]:
    """Plain Rasa with its REST channel and an SQLite tracker store in `workdir`."""
    port = free_port()
    service = Service(
        name="rasa",
        label="plain Rasa",
        command=[str(RASA_PYTHON), "-m", "rasa", "run",
                 "--model", str(PLAIN_MODEL),
                 "--endpoints", str(PLAIN_DIR / "endpoints.yml"),
                 "--credentials", str(PLAIN_DIR / "credentials.yml"),
                 "--interface", HOST, "--port", str(port)],
        port=port,
        ready_path="/webhooks/rest/",
        env=rasa_env({"BENCH_TRACKER_DB": str(workdir / "plain_tracker.db")}),
        log_path=_fresh_log(LOG_DIR / "plain_rasa.log"),
        startup_seconds=180,
    )  # fmt: skip
    turns = plain_turns(domain_responses(PLAIN_DIR / "domain.yml"), demo_dossiers())
    with started([service]) as stack:
        yield SystemUnderTest("plain Rasa", port, PlainChat, turns), stack


def guichet_env(workdir: Path) -> dict[str, str]:
    """The stack's environment, as the end-to-end tests give it: a database of its own, fresh
    secrets, and the lookup's per-minute caps raised."""
    return {
        "PATH": "/usr/bin:/bin",
        "HOME": str(Path.home()),
        "DATABASE_URL": f"sqlite:///{workdir / 'guichet.db'}",
        "GUICHET_ENV": "development",
        **{name: secrets.token_urlsafe(24) for name in SECRET_KEYS},
        **LOOKUP_CAPS,
    }


@dataclass(frozen=True)
class Layout:
    """How Guichet is laid out for the run: `make run` (embedded) or `make run-scaled`."""

    name: str = "embedded"
    rasa_processes: int = 1
    api_workers: int = 1
    action_workers: int = 1
    redis_db: int = BENCH_REDIS_DB

    @classmethod
    def scaled(
        cls, rasa_processes: int = 2, api_workers: int = 2, action_workers: int = 2
    ) -> "Layout":
        return cls("scaled", rasa_processes, api_workers, action_workers)

    @property
    def label(self) -> str:
        """The system's name in the output: plain "Guichet" in the embedded layout."""
        if self.name == "embedded":
            return "Guichet"
        label = f"Guichet scaled ×{self.rasa_processes}"
        if (self.api_workers, self.action_workers) != (2, 2):
            label += f" (API {self.api_workers}, actions {self.action_workers})"
        return label

    def describe(self) -> str:
        counts = (
            f"{self.rasa_processes} Rasa process{'es' if self.rasa_processes > 1 else ''}, "
            f"{self.api_workers} API worker{'s' if self.api_workers > 1 else ''}, "
            f"{self.action_workers} action server worker{'s' if self.action_workers > 1 else ''}"
        )
        if self.name == "embedded":
            return f"embedded (make run): {counts}; SQLite, in-memory lock store"
        return (
            f"scaled (make run-scaled): {counts}; a temporary PostgreSQL database (API and "
            f"tracker store), Redis index {self.redis_db} (lock store and the API's limits)"
        )

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "label": self.label}

    def ports(self, pick: Callable[[int], list[int]] = free_ports) -> Ports:
        """Free ports for the API, the action server and each Rasa process."""
        api, actions, rasa, *more_rasa = pick(3 + self.rasa_processes - 1)
        return Ports(api=api, actions=actions, rasa=rasa, more_rasa=tuple(more_rasa))

    def scaled_request(self, environ: dict[str, str], database: str) -> dict[str, str]:
        """What scripts.scaled.prepare is asked for: this layout's counts, the bench's own
        database and Redis index, on the servers GUICHET_SCALED_PG_URL / _REDIS_URL name (the
        local ones by default)."""
        servers = {
            name: environ[name]
            for name in ("GUICHET_SCALED_PG_URL", "GUICHET_SCALED_REDIS_URL")
            if environ.get(name)
        }
        return {
            **servers,
            "GUICHET_SCALED_DATABASE": database,
            "GUICHET_SCALED_REDIS_DB": str(self.redis_db),
            "GUICHET_RASA_PROCESSES": str(self.rasa_processes),
            "SANIC_WORKERS": "1",
            "GUICHET_API_WORKERS": str(self.api_workers),
            "ACTION_SERVER_SANIC_WORKERS": str(self.action_workers),
        }


EMBEDDED = Layout()


def scaled_env(base: dict[str, str], prepared: dict[str, str]) -> dict[str, str]:
    """The stack's environment in the scaled layout: `base` (guichet_env) with what
    scripts.scaled.prepare returned, less its own GUICHET_SCALED_* requests."""
    env = {**base, **prepared}
    return {k: v for k, v in env.items() if not k.startswith("GUICHET_SCALED_")}


def _drop_database(admin_url: str, database: str) -> None:
    import psycopg
    from psycopg import sql

    with psycopg.connect(admin_url, autocommit=True, connect_timeout=5) as connection:
        connection.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(database))
        )


def _flush_redis(url: str) -> int:
    """Empty the Redis index of `url`; return how many keys it held."""
    import redis

    client = redis.Redis.from_url(url, socket_connect_timeout=3, socket_timeout=10)
    try:
        held = client.dbsize()
        client.flushdb()
        return held
    finally:
        client.close()


@contextmanager
def scaled_stores(base: dict[str, str], layout: Layout) -> Iterator[dict[str, str]]:
    """A fresh PostgreSQL database and an emptied Redis index for the scaled layout (through
    scripts.scaled.prepare, which checks both and says what to do when one does not answer);
    yields the stack's environment. The database is dropped and the index emptied at the end,
    whatever happens."""
    from scripts import scaled

    database = f"guichet_bench_{secrets.token_hex(5)}"
    request = layout.scaled_request(dict(os.environ), database)
    server = request.get("GUICHET_SCALED_PG_URL") or scaled.DEFAULTS["GUICHET_SCALED_PG_URL"]
    admin_url = scaled.database_urls(server, database)[0]
    lock_url = None
    try:
        prepared = scaled.prepare(request, report=say)
        lock_url = prepared["GUICHET_LOCK_STORE_URL"]
        held = _flush_redis(lock_url)
        if held:
            say(f"[bench] Redis index {layout.redis_db} held {held} keys: emptied.")
        yield scaled_env(base, prepared)
    finally:
        try:
            _drop_database(admin_url, database)
            say(f"[bench] PostgreSQL database {database} dropped.")
        except Exception as error:  # say it, and go on cleaning
            if lock_url:  # else PostgreSQL did not answer, and prepare's error says so
                say(f"[bench] could not drop the PostgreSQL database {database}: {error}")
        if lock_url:
            try:
                _flush_redis(lock_url)
            except Exception as error:
                say(f"[bench] could not empty Redis index {layout.redis_db}: {error}")


@contextmanager
def guichet(workdir: Path, layout: Layout = EMBEDDED) -> Iterator[tuple[SystemUnderTest, Stack]]:
    """API + chat door, action server and Rasa, as `make run` (or `make run-scaled`) starts
    them, on free ports."""
    ports = layout.ports()
    logs = LOG_DIR / "guichet"
    turns = guichet_turns(domain_responses(GUICHET_DOMAIN), demo_dossiers())
    with ExitStack() as scope:
        env = guichet_env(workdir)
        if layout.name == "scaled":
            env = scope.enter_context(scaled_stores(env, layout))
        services = build_services(ports, env, log_dir=logs, var_dir=workdir)
        for service in services:
            _fresh_log(service.log_path)
        stack = scope.enter_context(started(services))
        yield SystemUnderTest(layout.label, ports.api, DoorChat, turns), stack


SYSTEM_STACKS: dict[str, Callable[..., Any]] = {"plain": plain_rasa, "guichet": guichet}


# --- Running the ladder.


@dataclass
class Ladder:
    rates: list[float]
    seconds: float
    gap: float
    timeout: float
    stop_p95_ms: float
    pause: float = 2.0


async def warm_up(system: SystemUnderTest, people: Iterator[str], count: int) -> str | None:
    """A few conversations at once, not counted: first-call costs out of the way, and a wrong
    answer here stops the run before it measures nonsense."""
    if count <= 0:
        return None
    step = await run_step(
        system, 4 * count, 1, people=people, report=lambda _line: None, timeout=120
    )
    wrong = [o for o in step.outcomes if o.error]
    return f"{wrong[0].turn}: {wrong[0].error} {wrong[0].detail}" if wrong else None


def service_kind(name: str) -> str:
    """The kind of a service: rasa-2, rasa-3… are Rasa processes like rasa."""
    return name.split("-", 1)[0]


def by_kind(used: dict[str, float]) -> dict[str, float]:
    """Per-service figures summed by kind of service (all Rasa processes together)."""
    summed: dict[str, float] = {}
    for name, value in used.items():
        kind = service_kind(name)
        summed[kind] = summed.get(kind, 0.0) + value
    return summed


def cpu_by_kind(snapshot: dict[int, Any], leaders: dict[str, int]) -> dict[str, float]:
    """CPU seconds used so far by each kind of service: every process of every service of
    that kind, workers included (`leaders`: service name → its process id)."""
    return by_kind({name: group_cpu_seconds(snapshot, pid) for name, pid in leaders.items()})


def _leaders(stack: Stack) -> dict[str, int]:
    return {s.name: s.process.pid for s in stack.services if s.process}


def cpu_by_service(stack: Stack) -> dict[str, float]:
    """CPU seconds used so far by each service of `stack` with its workers, and by this load
    generator."""
    snapshot = proc_snapshot()
    used = {name: group_cpu_seconds(snapshot, pid) for name, pid in _leaders(stack).items()}
    return {**used, "load generator": process_cpu_seconds(os.getpid())}


def cpu_now(stack: Stack) -> dict[str, float]:
    """CPU seconds used so far by each kind of server process of `stack` (all Rasa processes
    together, each service with its workers), and by this load generator."""
    return by_kind(cpu_by_service(stack))


def processes_counted(stack: Stack) -> str:
    """How many processes the CPU figures sum, by kind: "api 3, actions 3, rasa 2"."""
    snapshot = proc_snapshot()
    counts = by_kind(
        {name: len(group_members(snapshot, pid)) for name, pid in _leaders(stack).items()}
    )
    return ", ".join(f"{kind} {count:.0f}" for kind, count in counts.items())


async def climb(
    system: SystemUnderTest, ladder: Ladder, people: Iterator[str], warmups: int, stack: Stack
) -> list[StepResult]:
    problem = await warm_up(system, people, warmups)
    if problem:
        raise SystemExit(f"[bench] {system.name} answered wrongly while warming up: {problem}")
    results: list[StepResult] = []
    conversation = warmups
    for rate in ladder.rates:
        count = len(conversation_starts(rate, ladder.seconds))
        say(
            f"[bench] {system.name}: {rate:g} msg/s offered for {ladder.seconds:g} s "
            f"({count} conversations of {len(TURN_NAMES)} turns)…"
        )
        before = cpu_by_service(stack)
        step = await run_step(
            system, rate, ladder.seconds, people=people, first_conversation=conversation,
            gap=ladder.gap, timeout=ladder.timeout, report=say,
        )  # fmt: skip
        used = {name: cpu - before[name] for name, cpu in cpu_by_service(stack).items()}
        step.cpu_seconds = by_kind(used)
        rasa_each = {name: cpu for name, cpu in used.items() if service_kind(name) == "rasa"}
        if len(rasa_each) > 1:  # how evenly the door spread the conversations
            step.cpu_seconds_each = rasa_each
        conversation += count
        results.append(step)
        summary = step.summary()
        say(step_line(summary))
        if summary["p95_ms"] is None or summary["p95_ms"] > ladder.stop_p95_ms:
            say(f"[bench] {system.name}: p95 over {ladder.stop_p95_ms:g} ms, stop climbing.")
            break
        await asyncio.sleep(ladder.pause)
    return results


# --- Output.


def _ms(value: float | None) -> str:
    return "—" if value is None else f"{value:,.0f}"


def step_line(s: dict[str, Any]) -> str:
    turns = " / ".join(f"{name} {_ms(s['turn_p50_ms'][name])}" for name in TURN_NAMES)
    line = (
        f"[bench] {s['system']} {s['rate']:g} msg/s: {s['due']} due, {s['sent']} sent, "
        f"{s['answered']} answered, {s['errors']} errors; p50 {_ms(s['p50_ms'])} ms, "
        f"p95 {_ms(s['p95_ms'])} ms, p99 {_ms(s['p99_ms'])} ms; turn p50 ({turns}) ms; "
        f"load {s['load_before']:.1f}→{s['load_after']:.1f}"
    )
    cpu = ", ".join(f"{name} {_ms(ms)}" for name, ms in s["cpu_ms_per_message"].items())
    line += f"\n[bench]   CPU ms per message: {cpu}"
    if s.get("cpu_ms_per_message_each"):
        each = ", ".join(f"{n} {_ms(ms)}" for n, ms in s["cpu_ms_per_message_each"].items())
        line += f" ({each})"
    if s["error_reasons"]:
        line += f"\n[bench]   errors: {s['error_reasons']}; e.g. {s['error_examples']}"
    return line


def side_by_side(summaries: list[dict[str, Any]], systems: list[str]) -> str:
    """A Markdown table: one row per rate, p50/p95/p99 and errors of each system."""
    by_key = {(s["system"], s["rate"]): s for s in summaries}
    rates = sorted({s["rate"] for s in summaries})
    head = "| msg/s | " + " | ".join(
        f"{name} p50 | {name} p95 | {name} p99 | {name} errors | {name} p50 by turn"
        for name in systems
    )
    lines = [head + " |", "| ---: " + "| ---: | ---: | ---: | ---: | --- " * len(systems) + "|"]
    for rate in rates:
        cells = [f"{rate:g}"]
        for name in systems:
            s = by_key.get((name, rate))
            if s is None:
                cells += ["—"] * 5
                continue
            turns = "/".join(_ms(s["turn_p50_ms"][t]) for t in TURN_NAMES)
            cells += [_ms(s["p50_ms"]), _ms(s["p95_ms"]), _ms(s["p99_ms"]), str(s["errors"]), turns]
        lines.append("| " + " | ".join(cells) + " |")
    lines.append("\n(ms; p50 by turn: " + " / ".join(TURN_NAMES) + "; — : not run)")
    return "\n".join(lines)


def show_results(
    summaries: list[dict[str, Any]], labels: list[str], target_p95_ms: float
) -> dict[str, float | None]:
    """Print the side-by-side table and each system's held rate; return the held rates."""
    say("\n" + side_by_side(summaries, labels) + "\n")
    held = {}
    for name in labels:
        rate = held_rate([s for s in summaries if s["system"] == name], target_p95_ms)
        held[name] = rate
        say(
            f"[bench] {name}: highest rate held with p95 < {target_p95_ms:g} ms and no "
            f"error: {'none of the rates tried' if rate is None else f'{rate:g} msg/s'}"
        )
    return held


def merged_results(documents: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], list[str]]:
    """The results of several `--json` files as one table's: systems in order of appearance;
    a system met again in a later file (two embedded runs) gets its file's number."""
    summaries: list[dict[str, Any]] = []
    labels: list[str] = []
    for number, document in enumerate(documents, start=1):
        renamed: dict[str, str] = {}
        for summary in document["results"]:
            name = summary["system"]
            if name not in renamed:
                renamed[name] = name if name not in labels else f"{name} (file {number})"
                labels.append(renamed[name])
            summaries.append({**summary, "system": renamed[name]})
    return summaries, labels


def machine() -> dict[str, Any]:
    commit = subprocess.run(
        ["git", "describe", "--always", "--dirty"], cwd=ROOT, capture_output=True, text=True
    ).stdout.strip()
    return {
        "when": datetime.now().isoformat(timespec="seconds"),
        "platform": platform.platform(),
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "load_average_at_start": [round(x, 2) for x in os.getloadavg()],
        "commit": commit,
    }


def positive_count(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError("a whole number of at least 1 is expected")
    return int(text)


def layout_from_args(parser: argparse.ArgumentParser, args: argparse.Namespace) -> Layout:
    counts = {
        "rasa_processes": args.rasa_processes,
        "api_workers": args.api_workers,
        "action_workers": args.action_workers,
    }
    if args.layout == "embedded":
        given = [f"--{k.replace('_', '-')}" for k, v in counts.items() if v is not None]
        if given:
            parser.error(f"{', '.join(given)}: only with --layout scaled")
        return EMBEDDED
    return Layout.scaled(**{k: v for k, v in counts.items() if v is not None})


def _interrupt(_signum: int, _frame: object) -> None:
    raise KeyboardInterrupt


def parse_rates(text: str) -> list[float]:
    rates = sorted({float(part) for part in text.split(",") if part.strip()})
    if not rates or rates[0] <= 0:
        raise argparse.ArgumentTypeError("rates are positive numbers, e.g. 1,5,10")
    return rates


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--rates",
        type=parse_rates,
        default=parse_rates(DEFAULT_RATES),
        help=f"offered msg/s, climbed in order (default {DEFAULT_RATES})",
    )
    parser.add_argument("--seconds", type=float, default=30, help="arrivals per rate (default 30)")
    parser.add_argument("--only", choices=SYSTEMS, help="run one system only")
    parser.add_argument("--json", type=Path, help="also write the results to this file")
    parser.add_argument(
        "--table",
        type=Path,
        nargs="+",
        metavar="JSON",
        help="run nothing: print one side-by-side table of results saved by earlier --json "
        "runs (e.g. embedded, then scaled with 1, 2, 4 Rasa processes)",
    )
    parser.add_argument("--gap", type=float, default=2.0, help="seconds between a person's turns")
    parser.add_argument("--timeout", type=float, default=30.0, help="per message, seconds")
    parser.add_argument(
        "--stop-p95-ms",
        type=float,
        default=3000,
        help="stop climbing a system once its p95 passes this (default 3000)",
    )
    parser.add_argument(
        "--target-p95-ms",
        type=float,
        default=300,
        help="the p95 a rate must stay under to count as held (default 300)",
    )
    parser.add_argument("--warmup", type=int, default=2, help="uncounted conversations first")
    parser.add_argument(
        "--layout",
        choices=LAYOUTS,
        default="embedded",
        help="Guichet as `make run` (embedded, the default) or `make run-scaled` (scaled: "
        "PostgreSQL and Redis on 127.0.0.1, docs/scaling.md)",
    )
    parser.add_argument(
        "--rasa-processes", type=positive_count, help="scaled layout: Rasa processes (default 2)"
    )
    parser.add_argument(
        "--api-workers", type=positive_count, help="scaled layout: API workers (default 2)"
    )
    parser.add_argument(
        "--action-workers",
        type=positive_count,
        help="scaled layout: action server workers (default 2)",
    )
    args = parser.parse_args(argv)  # fmt: skip
    layout = layout_from_args(parser, args)
    if args.table:
        documents = [json.loads(path.read_text(encoding="utf-8")) for path in args.table]
        for path, document in zip(args.table, documents, strict=True):
            machine_info = document.get("machine", {})
            say(
                f"# {path}: {machine_info.get('when')}, commit {machine_info.get('commit')}, "
                f"load average at start {machine_info.get('load_average_at_start')}"
            )
        show_results(*merged_results(documents), args.target_p95_ms)
        return 0

    systems = [args.only] if args.only else list(SYSTEMS)
    if "guichet" in systems and not MODEL_PATH.exists():
        say(f"[bench] no trained Guichet model at {MODEL_PATH}: run `make model` first")
        return 1
    info = machine()
    say(
        f"# text-turn benchmark, {info['when']}, commit {info['commit']}\n"
        f"# {info['platform']}, {info['cores']} cores, Python {info['python']}, "
        f"load average at start {' '.join(map(str, info['load_average_at_start']))}\n"
        f"# conversation: {' → '.join(TURN_NAMES)}; turns due every {args.gap:g} s from the "
        f"conversation's start, sent when due or as soon as the previous answer is in; "
        f"latency from due; timeout {args.timeout:g} s\n"
        f"# Guichet: lookup caps raised for the run "
        f"({', '.join(f'{k}={v}' for k, v in LOOKUP_CAPS.items())}); the chat door's limits "
        f"as configured; each person from its own 127.x.y.z address\n"
        f"# Guichet layout: {layout.describe()}"
    )
    if info["load_average_at_start"][0] > 0.5 * (info["cores"] or 1):
        say(
            "# WARNING: other work is running on this machine (see the load average): "
            "latencies will be higher and vary between runs; CPU ms per message varies less"
        )
    if "plain" in systems:
        ensure_plain_model()
    ladder = Ladder(args.rates, args.seconds, args.gap, args.timeout, args.stop_p95_ms)
    people = addresses()
    summaries: list[dict[str, Any]] = []
    labels = []
    # A plain `kill` stops the servers and drops the scaled layout's database, as Ctrl-C does.
    signal.signal(signal.SIGTERM, _interrupt)
    for key in systems:
        with tempfile.TemporaryDirectory(prefix="guichet-bench-text-") as directory:
            label = layout.label if key == "guichet" else LABELS[key]
            say(f"[bench] starting {label} (loading a Rasa model takes up to a minute)…")
            begin = time.monotonic()
            options = {"layout": layout} if key == "guichet" else {}
            try:
                with SYSTEM_STACKS[key](Path(directory), **options) as (system, stack):
                    say(
                        f"[bench] {system.name} ready in {time.monotonic() - begin:.0f} s; "
                        f"processes counted in its CPU: {processes_counted(stack)}"
                    )
                    steps = asyncio.run(climb(system, ladder, people, args.warmup, stack))
            except StackError as error:
                say(f"[bench] {label} could not start: {error}")
                return 1
            except KeyboardInterrupt:
                say(f"[bench] interrupted: {label} stopped, its temporary stores removed.")
                return 130
            labels.append(system.name)
            for step in steps:
                summary = step.summary()
                if key == "guichet":
                    summary["layout"] = layout.as_dict()
                summaries.append(summary)

    held = show_results(summaries, labels, args.target_p95_ms)
    if args.json:
        args.json.write_text(
            json.dumps(
                {"machine": info, "settings": {**vars(args), "json": str(args.json)},
                 "layout": layout.as_dict(), "lookup_caps": LOOKUP_CAPS,
                 "results": summaries, "held": held},
                indent=2, ensure_ascii=False, default=str,
            ),
            encoding="utf-8",
        )  # fmt: skip
        say(f"[bench] results written to {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
