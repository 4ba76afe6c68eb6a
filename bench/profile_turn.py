"""Where a Guichet text turn spends its time: `python -m bench.profile_turn` (or
`make bench-profile`).

Starts the Guichet stack as bench/text_turn.py does, warms it up, then runs a fixed open-loop
load (4 msg/s by default, the same conversation and checks) while py-spy samples the Rasa
server, the action server and the API process from outside (no change to them, no hook).
Prints, for each process, its CPU time per message and its functions by cumulative share of the
samples (a function counted once per sample however deep it recurs) and by own share (the
sample's innermost frame). The raw collapsed stacks are kept in var/bench/profile/ for a
flame graph (e.g. speedscope or flamegraph.pl read them as they are).

py-spy (in the dev lock) reads another process's memory: it needs root or ptrace rights
(CAP_SYS_PTRACE, or kernel.yama.ptrace_scope=0).
"""

import argparse
import asyncio
import math
import re
import subprocess
import sys
import tempfile
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from bench.loadgen import addresses, run_step
from bench.text_turn import BENCH_VAR, cpu_now, guichet, say, step_line, warm_up
from scripts.paths import DEV_PYTHON, MODEL_PATH, ROOT

PY_SPY = DEV_PYTHON.parent / "py-spy"
PROFILE_DIR = BENCH_VAR / "profile"
PROCESSES = ("rasa", "actions", "api")


@dataclass(frozen=True)
class Profile:
    """The busy samples of one process, as collapsed stacks (root first) with their counts."""

    stacks: Counter[tuple[str, ...]]

    @property
    def samples(self) -> int:
        return sum(self.stacks.values())

    def cumulative(self) -> Counter[str]:
        """Samples in which each function appears, once per sample even when it recurs."""
        counts: Counter[str] = Counter()
        for stack, count in self.stacks.items():
            for frame in set(stack):
                counts[frame] += count
        return counts

    def busy(self) -> "Profile":
        """Without the samples whose innermost Python frame is the event loop itself or a
        thread waiting for work: py-spy counts some of those waits as active, and Python is
        doing nothing there."""
        return Profile(
            Counter({s: n for s, n in self.stacks.items() if s and not _IDLE.search(short(s[-1]))})
        )

    def own(self) -> Counter[str]:
        """Samples in which each function is the innermost frame."""
        counts: Counter[str] = Counter()
        for stack, count in self.stacks.items():
            if stack:
                counts[stack[-1]] += count
        return counts


_PROCESS = re.compile(r"^process \d+:")
# Innermost frames that mean "waiting": the loop's runner (uvloop runs in C under it), thread
# pools and queues waiting for work, selectors.
_IDLE = re.compile(
    r"^(?:serve \(sanic/server/runners\.py|(?:Runner\.)?run \(asyncio/runners\.py"
    r"|(?:\w+\.)?run_forever \(|(?:\w+\.)?_worker \(concurrent/futures/thread\.py"
    r"|(?:Condition\.)?wait \(threading\.py|(?:Queue\.)?get \(queue\.py"
    r"|(?:\w+\.)?select \(selectors\.py)"
)


def parse_collapsed(lines: Iterable[str]) -> Profile:
    """Read py-spy's raw output ("frame;frame;frame count" per line)."""
    stacks: Counter[tuple[str, ...]] = Counter()
    for line in lines:
        line = line.strip()
        if not line:
            continue
        stack, _, count = line.rpartition(" ")
        # --subprocesses puts the process ("process 123:\"python …\"") at the root.
        frames = tuple(f for f in stack.split(";") if not _PROCESS.match(f))
        stacks[frames] += int(count)
    return Profile(stacks)


_FRAME = re.compile(r"^(?P<function>.*) \((?P<file>[^()]*)\)$")
_PREFIXES = (re.compile(r"^.*/site-packages/"), re.compile(r"^.*/lib/python3\.\d+/"))


def short(frame: str, root: Path = ROOT) -> str:
    """`function (file)` with the file relative to the project, site-packages or the
    standard library, so a line shows which package the time is in."""
    match = _FRAME.match(frame)
    if not match:
        return frame
    file = match["file"]
    if file.startswith(f"{root}/"):
        file = file[len(str(root)) + 1 :]
    else:
        for prefix in _PREFIXES:
            file = prefix.sub("", file)
    return f"{match['function']} ({file})"


def top(counts: Counter[str], total: int, limit: int) -> list[tuple[float, str]]:
    """The `limit` biggest shares of `total`, in percent, largest first."""
    return [(100 * count / total, short(frame)) for frame, count in counts.most_common(limit)]


def report(name: str, profile: Profile, cpu_ms: float | None, limit: int) -> str:
    """The top functions of one process. Frames in (nearly) every sample, the entry points
    and the event loop, are left out of the cumulative list: they say nothing."""
    busy = profile.busy()
    idle = profile.samples - busy.samples
    profile, total = busy, busy.samples
    if not total:
        return f"## {name}: no busy sample"
    cumulative = Counter({f: n for f, n in profile.cumulative().items() if n < 0.99 * total})
    cpu = "" if cpu_ms is None else f", {cpu_ms:.0f} ms CPU per message"
    lines = [f"## {name}: {total} busy samples{cpu} ({idle} idle-wait samples left out)"]
    lines.append(f"### by cumulative share (top {limit}; frames in over 99 % of samples left out)")
    lines += [f"{share:5.1f} %  {frame}" for share, frame in top(cumulative, total, limit)]
    lines.append(f"### by own share (top {limit})")
    lines += [f"{share:5.1f} %  {frame}" for share, frame in top(profile.own(), total, limit)]
    return "\n".join(lines)


def record(pid: int, out: Path, seconds: float, hz: int, gil: bool) -> subprocess.Popen:
    """Start py-spy on `pid` (and its worker processes) for `seconds`, writing raw stacks."""
    return subprocess.Popen(
        [str(PY_SPY), "record", "--pid", str(pid), "--rate", str(hz),
         "--duration", str(math.ceil(seconds)), "--format", "raw", "--function",
         "--subprocesses", "--output", str(out), *(["--gil"] if gil else [])],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=float, default=4, help="offered msg/s (default 4)")
    parser.add_argument("--seconds", type=float, default=40, help="profiled load (default 40)")
    parser.add_argument("--hz", type=int, default=100, help="samples a second (default 100)")
    parser.add_argument("--top", type=int, default=20, help="functions shown per list")
    parser.add_argument("--processes", default=",".join(PROCESSES), help="which to profile")
    parser.add_argument(
        "--gil", action="store_true", help="only samples holding the GIL (Python CPU only)"
    )
    args = parser.parse_args(argv)
    wanted = [p for p in args.processes.split(",") if p]
    if unknown := set(wanted) - set(PROCESSES):
        parser.error(f"unknown processes {sorted(unknown)}; choose among {PROCESSES}")
    if not MODEL_PATH.exists():
        say(f"[profile] no trained Guichet model at {MODEL_PATH}: run `make model` first")
        return 1
    if not PY_SPY.exists():
        say(f"[profile] py-spy is missing ({PY_SPY}): run `make setup`")
        return 1
    PROFILE_DIR.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="guichet-bench-profile-") as directory:
        say("[profile] starting Guichet (loading the Rasa model takes up to a minute)…")
        with guichet(Path(directory)) as (system, stack):
            people = addresses()
            problem = asyncio.run(warm_up(system, people, 2))
            if problem:
                say(f"[profile] Guichet answered wrongly while warming up: {problem}")
                return 1
            pids = {s.name: s.process.pid for s in stack.services if s.process}
            outputs = {name: PROFILE_DIR / f"{name}.txt" for name in wanted}
            say(
                f"[profile] {args.rate:g} msg/s for {args.seconds:g} s while py-spy samples "
                f"{', '.join(f'{n} (pid {pids[n]})' for n in wanted)} at {args.hz} Hz…"
            )
            spies = {
                n: record(pids[n], outputs[n], args.seconds, args.hz, args.gil) for n in wanted
            }
            before = cpu_now(stack)
            step = asyncio.run(
                run_step(system, args.rate, args.seconds, people=people, first_conversation=2)
            )
            step.cpu_seconds = {n: cpu - before[n] for n, cpu in cpu_now(stack).items()}
            for name, spy in spies.items():
                _, errors = spy.communicate(timeout=args.seconds + 60)
                if spy.returncode != 0:
                    say(f"[profile] py-spy failed on {name} (code {spy.returncode}): {errors}")
                    return 1
    summary = step.summary()
    say(step_line(summary))
    for name in wanted:
        profile = parse_collapsed(outputs[name].read_text().splitlines())
        say("\n" + report(name, profile, summary["cpu_ms_per_message"].get(name), args.top))
    say(f"\n[profile] raw stacks (collapsed, for a flame graph): {PROFILE_DIR}/")
    return 0


if __name__ == "__main__":
    sys.exit(main())
