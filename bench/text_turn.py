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
  address and with its own cookie.

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
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
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
    held_rate,
    process_cpu_seconds,
    response_pattern,
    run_step,
)
from guichet import responses
from guichet.catalogue import load_catalogue
from scripts.ensure_env import SECRET_KEYS
from scripts.paths import MODEL_PATH, RASA_PYTHON, ROOT, VAR_DIR, rasa_env
from scripts.services import Ports, Service, Stack, build_services

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
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


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


@contextmanager
def guichet(workdir: Path) -> Iterator[tuple[SystemUnderTest, Stack]]:
    """API + chat door, action server and Rasa, as `make run` starts them, on free ports."""
    ports = Ports(api=free_port(), actions=free_port(), rasa=free_port())
    logs = LOG_DIR / "guichet"
    for name in ("api", "actions", "rasa"):
        _fresh_log(logs / f"{name}.log")
    services = build_services(ports, guichet_env(workdir), log_dir=logs, var_dir=workdir)
    turns = guichet_turns(domain_responses(GUICHET_DOMAIN), demo_dossiers())
    with started(services) as stack:
        yield SystemUnderTest("Guichet", ports.api, DoorChat, turns), stack


SYSTEM_STACKS = {"plain": plain_rasa, "guichet": guichet}


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


def cpu_now(stack: Stack) -> dict[str, float]:
    """CPU seconds used so far by each server process of `stack`, and by this load generator."""
    used = {s.name: process_cpu_seconds(s.process.pid) for s in stack.services if s.process}
    return {**used, "load generator": process_cpu_seconds(os.getpid())}


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
        before = cpu_now(stack)
        step = await run_step(
            system, rate, ladder.seconds, people=people, first_conversation=conversation,
            gap=ladder.gap, timeout=ladder.timeout, report=say,
        )  # fmt: skip
        step.cpu_seconds = {name: cpu - before[name] for name, cpu in cpu_now(stack).items()}
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
    args = parser.parse_args(argv)  # fmt: skip

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
        f"as configured; each person from its own 127.x.y.z address"
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
    for key in systems:
        with tempfile.TemporaryDirectory(prefix="guichet-bench-text-") as directory:
            say(f"[bench] starting {LABELS[key]} (loading a Rasa model takes up to a minute)…")
            begin = time.monotonic()
            with SYSTEM_STACKS[key](Path(directory)) as (system, stack):
                say(f"[bench] {system.name} ready in {time.monotonic() - begin:.0f} s")
                steps = asyncio.run(climb(system, ladder, people, args.warmup, stack))
            labels.append(system.name)
            summaries += [step.summary() for step in steps]

    say("\n" + side_by_side(summaries, labels) + "\n")
    held = {}
    for name in labels:
        rate = held_rate([s for s in summaries if s["system"] == name], args.target_p95_ms)
        held[name] = rate
        say(
            f"[bench] {name}: highest rate held with p95 < {args.target_p95_ms:g} ms and no "
            f"error: {'none of the rates tried' if rate is None else f'{rate:g} msg/s'}"
        )
    if args.json:
        args.json.write_text(
            json.dumps(
                {"machine": info, "settings": {**vars(args), "json": str(args.json)},
                 "lookup_caps": LOOKUP_CAPS, "results": summaries, "held": held},
                indent=2, ensure_ascii=False, default=str,
            ),
            encoding="utf-8",
        )  # fmt: skip
        say(f"[bench] results written to {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
