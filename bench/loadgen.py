"""The open-loop load generator of the text-turn benchmark (bench/text_turn.py).

Conversations start at a fixed interval so that the offered message rate is fixed, whatever
the server does: each conversation's turns are due every `gap` seconds from its start, and a
turn is sent when it is due, or as soon as the previous answer arrives if that is later (a
person cannot answer a question before seeing it). Latency is counted from when each message
was due, so a server falling behind is not flattered (no coordinated omission).

The HTTP client is a minimal keep-alive HTTP/1.1 client on asyncio, one connection per
person from the person's own loopback address, so the load generator takes as little as
possible of the CPU it shares with the servers. Pure parts (schedule, percentiles, summaries)
are tested in tests/tools/test_bench_text.py.
"""

import asyncio
import json
import math
import os
import re
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

HOST = "127.0.0.1"
TURN_NAMES = ("greet", "ask", "number", "date")


# --- Schedule and statistics (pure).


def conversation_starts(rate: float, seconds: float, turns: int = len(TURN_NAMES)) -> list[float]:
    """Start offsets of the conversations that offer `rate` messages a second for `seconds`.

    A conversation brings `turns` messages, so conversations start every `turns / rate`
    seconds; every start falls inside the window [0, seconds).
    """
    if rate <= 0 or seconds <= 0:
        raise ValueError("rate and seconds must be positive")
    interval = turns / rate
    return [i * interval for i in range(math.ceil(seconds / interval - 1e-9))]


def due_times(start: float, turns: int, gap: float) -> list[float]:
    """When each turn of a conversation started at `start` is due."""
    return [start + k * gap for k in range(turns)]


def percentile(values: Sequence[float], fraction: float) -> float:
    """Nearest-rank percentile: the smallest value with at least `fraction` of values at or
    below it (so p95 of 20 values is the 19th, never an interpolation between two)."""
    if not values:
        return math.nan
    if not 0 < fraction <= 1:
        raise ValueError("fraction must be in (0, 1]")
    ordered = sorted(values)
    return ordered[max(0, math.ceil(fraction * len(ordered)) - 1)]


def process_cpu_seconds(pid: int) -> float:
    """CPU time (user + system) a process has used so far, from /proc (Linux); NaN when it
    cannot be read. Threads are included; child processes are not."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    except OSError:
        return math.nan
    # After the command name: state is field 3 of stat(5), utime 14 and stime 15.
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True)
class ProcStat:
    """What the CPU accounting needs of one process's /proc/<pid>/stat."""

    pid: int
    ppid: int
    pgrp: int
    session: int
    cpu_ticks: int


def proc_snapshot(root: Path = Path("/proc")) -> dict[int, ProcStat]:
    """Every process readable under `root` (Linux /proc), by pid; one that ends while it is
    read is left out."""
    found = {}
    for entry in root.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            text = (entry / "stat").read_text()
        except OSError:
            continue
        # After the command name (which may hold spaces and parentheses): fields 3… of
        # stat(5), so ppid (4) is at 1, pgrp (5) at 2, session (6) at 3, utime (14) at 11.
        fields = text.rpartition(")")[2].split()
        found[int(entry.name)] = ProcStat(
            pid=int(entry.name),
            ppid=int(fields[1]),
            pgrp=int(fields[2]),
            session=int(fields[3]),
            cpu_ticks=int(fields[11]) + int(fields[12]),
        )
    return found


def group_members(snapshot: dict[int, ProcStat], leader: int) -> list[ProcStat]:
    """`leader` and every process it started: those of its process group or session (a
    service runs in a session of its own, its workers with it) and its descendants."""
    members = {
        pid: stat
        for pid, stat in snapshot.items()
        if pid == leader or leader in (stat.pgrp, stat.session)
    }
    if leader not in snapshot:
        return list(members.values())
    grown = True
    while grown:  # descendants that left the group (none do today, but they still count)
        added = {
            pid: stat
            for pid, stat in snapshot.items()
            if pid not in members and stat.ppid in members
        }
        members.update(added)
        grown = bool(added)
    return list(members.values())


def group_cpu_seconds(snapshot: dict[int, ProcStat], leader: int) -> float:
    """CPU time (user + system) used so far by `leader` and every process it started (see
    `group_members`); NaN when `leader` is not running. A worker that has ended no longer
    counts (its time goes to its parent only once reaped)."""
    if leader not in snapshot:
        return math.nan
    ticks = sum(stat.cpu_ticks for stat in group_members(snapshot, leader))
    return ticks / os.sysconf("SC_CLK_TCK")


def loopback_address(index: int) -> str:
    """A distinct loopback address per simulated person (127.1.0.1, 127.1.0.2, …): the chat
    door limits messages per address, as it would per real person."""
    if not 0 <= index < 254 * 254 * 254:
        raise ValueError("index out of range")
    return f"127.{1 + index // (254 * 254)}.{(index // 254) % 254}.{index % 254 + 1}"


def addresses() -> Iterator[str]:
    """Every person's address, in order, never the same twice in one process."""
    index = 0
    while True:
        yield loopback_address(index)
        index += 1


@dataclass(frozen=True)
class Outcome:
    """One due message: whether it was sent and answered, its latency from due, its error."""

    turn: str
    latency_ms: float | None
    sent: bool
    answered: bool
    error: str | None = None
    # The start of a wrong answer, to see what went wrong.
    detail: str = ""


@dataclass
class StepResult:
    """What one system did at one offered rate."""

    system: str
    rate: float
    seconds: float
    outcomes: list[Outcome]
    load_before: float = math.nan
    load_after: float = math.nan
    wall_seconds: float = math.nan
    # CPU seconds each server process used during the step (bench/text_turn.py fills it).
    cpu_seconds: dict[str, float] = field(default_factory=dict)
    # The same of each process of a kind when there are several (the Rasa processes).
    cpu_seconds_each: dict[str, float] = field(default_factory=dict)

    def summary(self) -> dict[str, Any]:
        latencies = [o.latency_ms for o in self.outcomes if o.latency_ms is not None]
        reasons = Counter(o.error for o in self.outcomes if o.error)
        examples = {}
        for outcome in self.outcomes:
            if outcome.error and outcome.detail:
                examples.setdefault(outcome.error, f"{outcome.turn}: {outcome.detail}")
        per_turn = {
            name: _rounded(percentile([o.latency_ms for o in self.outcomes
                                       if o.turn == name and o.latency_ms is not None], 0.5))
            for name in TURN_NAMES
        }  # fmt: skip
        sent = sum(o.sent for o in self.outcomes)

        def per_message(cpu_seconds: dict[str, float]) -> dict[str, float | None]:
            return {
                name: _rounded(1000 * cpu / sent if sent else math.nan)
                for name, cpu in cpu_seconds.items()
            }

        each = {"cpu_ms_per_message_each": per_message(self.cpu_seconds_each)}
        return {
            "system": self.system,
            "rate": self.rate,
            "seconds": self.seconds,
            "due": len(self.outcomes),
            "sent": sent,
            "answered": sum(o.answered for o in self.outcomes),
            "errors": sum(o.error is not None for o in self.outcomes),
            "p50_ms": _rounded(percentile(latencies, 0.50)),
            "p95_ms": _rounded(percentile(latencies, 0.95)),
            "p99_ms": _rounded(percentile(latencies, 0.99)),
            "turn_p50_ms": per_turn,
            "error_reasons": dict(reasons.most_common(5)),
            "error_examples": examples,
            "load_before": round(self.load_before, 2),
            "load_after": round(self.load_after, 2),
            "wall_seconds": round(self.wall_seconds, 1),
            # CPU milliseconds per message sent, by kind of process: what a turn costs each
            # part (and by Rasa process when there are several).
            "cpu_ms_per_message": per_message(self.cpu_seconds),
            **(each if self.cpu_seconds_each else {}),
        }


def _rounded(value: float) -> float | None:
    return None if math.isnan(value) else round(value, 1)


def held_rate(summaries: Iterable[dict[str, Any]], p95_ms: float = 300) -> float | None:
    """The highest rate of the unbroken run, from the lowest rate up, where p95 < `p95_ms`
    and no message failed; None when the lowest rate already misses. A lucky higher step after
    a missed one does not count: the system did not hold the rates in between."""
    held = None
    for summary in sorted(summaries, key=lambda s: s["rate"]):
        p95 = summary["p95_ms"]
        if summary["errors"] or p95 is None or p95 >= p95_ms:
            break
        held = summary["rate"]
    return held


# --- A minimal HTTP/1.1 client.


@dataclass
class Response:
    status: int
    headers: list[tuple[str, str]]
    body: bytes

    def header_values(self, name: str) -> list[str]:
        return [value for key, value in self.headers if key == name.lower()]

    def json(self) -> Any:
        return json.loads(self.body)


class HttpSession:
    """One person's keep-alive connection to HOST:port, from `local_address`."""

    def __init__(self, port: int, local_address: str) -> None:
        self.port = port
        self.local_address = local_address
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def post_json(self, path: str, payload: Any, headers: dict[str, str]) -> Response:
        body = json.dumps(payload).encode()
        head = (
            f"POST {path} HTTP/1.1\r\nHost: {HOST}:{self.port}\r\n"
            "Content-Type: application/json\r\nAccept: application/json\r\n"
            + "".join(f"{name}: {value}\r\n" for name, value in headers.items())
            + f"Content-Length: {len(body)}\r\n\r\n"
        ).encode()
        # A server may close an idle keep-alive connection just as we reuse it: then nothing
        # was read, the request was not handled, and one retry on a new connection is safe.
        for attempt in (0, 1):
            reused = self.writer is not None
            if self.reader is None or self.reader.at_eof():
                await self._connect()
            assert self.reader is not None and self.writer is not None
            try:
                self.writer.write(head + body)
                return await self._read_response()
            except (asyncio.IncompleteReadError, ConnectionResetError) as error:
                nothing_read = not isinstance(error, asyncio.IncompleteReadError) or not (
                    error.partial
                )
                self.close()
                if not (attempt == 0 and reused and nothing_read):
                    raise
        raise AssertionError("unreachable")

    async def _connect(self) -> None:
        self.close()
        self.reader, self.writer = await asyncio.open_connection(
            HOST, self.port, local_addr=(self.local_address, 0)
        )

    async def _read_response(self) -> Response:
        assert self.reader is not None
        head = await self.reader.readuntil(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split(" ", 2)[1])
        headers = [
            (name.strip().lower(), value.strip())
            for name, _, value in (line.partition(":") for line in lines[1:] if line)
        ]
        values = dict(headers)
        if values.get("transfer-encoding", "").lower() == "chunked":
            body = await self._read_chunked()
        else:
            body = await self.reader.readexactly(int(values.get("content-length", "0")))
        if values.get("connection", "").lower() == "close":
            self.close()
        return Response(status, headers, body)

    async def _read_chunked(self) -> bytes:
        assert self.reader is not None
        parts = []
        while True:
            size = int((await self.reader.readuntil(b"\r\n")).split(b";")[0], 16)
            if size == 0:
                await self.reader.readuntil(b"\r\n")
                return b"".join(parts)
            parts.append(await self.reader.readexactly(size))
            await self.reader.readexactly(2)

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
        self.reader = self.writer = None


# --- The conversation and the open-loop driver.


@dataclass(frozen=True)
class Turn:
    """One message of a conversation and how to judge its answer: `check` returns why the
    answer is wrong, or None when it is right."""

    name: str
    message: str
    check: Callable[[int, Any], str | None]


class Chat(Protocol):
    """One person's conversation with a system under test."""

    async def say(self, message: str) -> tuple[int, Any]:
        """Send `message`; return the HTTP status and the decoded answer."""

    def close(self) -> None: ...


class System(Protocol):
    name: str

    def chat(self, address: str) -> Chat: ...

    def conversation(self, index: int) -> list[Turn]: ...


@dataclass
class Progress:
    """Counters shown while a step runs."""

    sent: int = 0
    answered: int = 0
    errors: int = 0
    in_flight: set[asyncio.Task] = field(default_factory=set)


async def _sleep_until(loop: asyncio.AbstractEventLoop, when: float) -> None:
    delay = when - loop.time()
    if delay > 0:
        await asyncio.sleep(delay)


async def _one_conversation(
    system: System,
    index: int,
    address: str,
    start: float,
    gap: float,
    timeout: float,
    progress: Progress,
) -> list[Outcome]:
    loop = asyncio.get_running_loop()
    turns = system.conversation(index)
    outcomes: list[Outcome] = []
    await _sleep_until(loop, start)
    chat = system.chat(address)
    given_up: str | None = None
    try:
        for turn, due in zip(turns, due_times(start, len(turns), gap), strict=True):
            if given_up:
                outcomes.append(Outcome(turn.name, None, False, False, given_up))
                continue
            await _sleep_until(loop, due)
            progress.sent += 1
            try:
                status, answer = await asyncio.wait_for(chat.say(turn.message), timeout)
            except TimeoutError:
                latency = (loop.time() - due) * 1000
                outcomes.append(Outcome(turn.name, latency, True, False, "timeout"))
                given_up = "not sent: an earlier turn timed out"
            except (OSError, asyncio.IncompleteReadError, ValueError) as error:
                latency = (loop.time() - due) * 1000
                reason = f"transport: {type(error).__name__}"
                outcomes.append(Outcome(turn.name, latency, True, False, reason))
                given_up = "not sent: an earlier turn failed to connect"
            else:
                latency = (loop.time() - due) * 1000
                progress.answered += 1
                error = turn.check(status, answer)
                detail = f"{turn.message!r} -> {answer_texts(answer)[:160]!r}" if error else ""
                outcomes.append(Outcome(turn.name, latency, True, True, error, detail))
            progress.errors += outcomes[-1].error is not None
    finally:
        chat.close()
    return outcomes


async def run_step(
    system: System,
    rate: float,
    seconds: float,
    *,
    people: Iterator[str],
    first_conversation: int = 0,
    gap: float = 2.0,
    timeout: float = 30.0,
    report: Callable[[str], None] = print,
    report_every: float = 10.0,
) -> StepResult:
    """Offer `rate` messages a second for `seconds` (arrivals), then wait for every
    conversation to end; return every due message's outcome."""
    loop = asyncio.get_running_loop()
    starts = conversation_starts(rate, seconds)
    progress = Progress()
    load_before = os.getloadavg()[0]
    wall = time.monotonic()
    begin = loop.time() + 0.2
    tasks = [
        asyncio.create_task(
            _one_conversation(
                system, first_conversation + i, next(people), begin + s, gap, timeout, progress
            )
        )
        for i, s in enumerate(starts)
    ]

    async def ticker() -> None:
        while True:
            await asyncio.sleep(report_every)
            done = sum(t.done() for t in tasks)
            report(
                f"[bench]   {system.name} {rate:g} msg/s, {loop.time() - begin:4.0f} s: "
                f"{progress.sent} sent, {progress.answered} answered, {progress.errors} errors, "
                f"{done}/{len(tasks)} conversations done"
            )

    tick = asyncio.create_task(ticker())
    try:
        results = await asyncio.gather(*tasks)
    finally:
        tick.cancel()
    return StepResult(
        system=system.name,
        rate=rate,
        seconds=seconds,
        outcomes=[outcome for conversation in results for outcome in conversation],
        load_before=load_before,
        load_after=os.getloadavg()[0],
        wall_seconds=time.monotonic() - wall,
    )


# --- Judging answers.

_PLACEHOLDER = re.compile(r"\{(\w+)\}")


def response_pattern(variations: Sequence[str], **known: str) -> re.Pattern[str]:
    """A pattern matching any of a response's text variations as Rasa fills it: `known`
    placeholders must have their given value, any other placeholder matches some text."""
    alternatives = []
    for text in variations:
        parts = []
        position = 0
        for match in _PLACEHOLDER.finditer(text):
            parts.append(re.escape(text[position : match.start()]))
            name = match.group(1)
            parts.append(re.escape(known[name]) if name in known else ".+?")
            position = match.end()
        parts.append(re.escape(text[position:]))
        alternatives.append("".join(parts))
    if not alternatives:
        raise ValueError("a response without a text variation")
    return re.compile("|".join(f"(?:{a})" for a in alternatives))


def answer_texts(answer: Any) -> str:
    """The texts of a list of bot messages ({"text": …}), one per line."""
    if not isinstance(answer, list):
        return ""
    return "\n".join(m.get("text") or "" for m in answer if isinstance(m, dict))


def expect(*patterns: re.Pattern[str]) -> Callable[[int, Any], str | None]:
    """A check: status 200 and every pattern found in the answer's texts."""

    def check(status: int, answer: Any) -> str | None:
        if status != 200:
            return f"HTTP {status}"
        texts = answer_texts(answer)
        if not texts:
            return "empty answer"
        if not all(pattern.search(texts) for pattern in patterns):
            return "wrong answer"
        return None

    return check
