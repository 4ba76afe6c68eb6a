"""The text-turn benchmark's own logic: schedule, statistics, answer checks, HTTP client,
profile maths (bench/loadgen.py, bench/text_turn.py, bench/profile_turn.py)."""

import asyncio
import itertools
import math
import os
from collections import Counter
from pathlib import Path

import pytest

from bench import loadgen
from bench.loadgen import (
    HttpSession,
    Outcome,
    StepResult,
    conversation_starts,
    due_times,
    expect,
    group_cpu_seconds,
    group_members,
    held_rate,
    loopback_address,
    percentile,
    proc_snapshot,
    response_pattern,
)
from bench.profile_turn import parse_collapsed, report, short, top
from bench.text_turn import (
    EMBEDDED,
    GUICHET_DOMAIN,
    PLAIN_DIR,
    Layout,
    cpu_by_kind,
    demo_dossiers,
    domain_responses,
    free_ports,
    guichet_env,
    guichet_turns,
    main,
    merged_results,
    plain_fingerprint,
    plain_turns,
    scaled_env,
)
from guichet import responses
from guichet.catalogue import load_catalogue
from scripts import scaled
from scripts.services import build_services


@pytest.mark.parametrize(("rate", "seconds"), [(4, 10), (10, 30), (30, 30), (1, 30), (3, 10)])
def test_conversations_offer_the_rate_within_the_window(rate: float, seconds: float) -> None:
    starts = conversation_starts(rate, seconds)
    interval = 4 / rate
    assert starts[0] == 0
    assert all(b - a == pytest.approx(interval) for a, b in itertools.pairwise(starts))
    assert starts[-1] < seconds <= starts[-1] + interval
    # Four messages a conversation: rate × seconds messages, to within one conversation.
    assert abs(4 * len(starts) - rate * seconds) < 4


def test_exact_counts_when_the_window_divides() -> None:
    assert len(conversation_starts(10, 30)) == 75
    assert len(conversation_starts(4, 10)) == 10


@pytest.mark.parametrize(("rate", "seconds"), [(0, 10), (5, 0), (-1, 10)])
def test_a_schedule_needs_a_positive_rate_and_window(rate: float, seconds: float) -> None:
    with pytest.raises(ValueError):
        conversation_starts(rate, seconds)


def test_turns_are_due_every_gap_from_the_start() -> None:
    assert due_times(5.0, 4, 2.0) == [5.0, 7.0, 9.0, 11.0]


def test_percentile_is_nearest_rank() -> None:
    values = list(range(100, 0, -1))  # 1..100, unsorted
    assert percentile(values, 0.5) == 50
    assert percentile(values, 0.95) == 95
    assert percentile(values, 0.99) == 99
    assert percentile(values, 1.0) == 100
    assert percentile(list(range(1, 21)), 0.95) == 19
    assert percentile([7.5], 0.99) == 7.5
    assert math.isnan(percentile([], 0.5))
    with pytest.raises(ValueError):
        percentile([1.0], 0)


def test_every_person_gets_a_loopback_address_of_their_own() -> None:
    assert loopback_address(0) == "127.1.0.1"
    assert loopback_address(253) == "127.1.0.254"
    assert loopback_address(254) == "127.1.1.1"
    many = [loopback_address(i) for i in range(70_000)]
    assert len(set(many)) == len(many)
    for address in many[::997]:
        octets = [int(x) for x in address.split(".")]
        assert octets[0] == 127 and octets[1] >= 1 and 1 <= octets[3] <= 254
    with pytest.raises(ValueError):
        loopback_address(-1)


def summary(rate: float, p95: float | None, errors: int = 0) -> dict:
    return {"rate": rate, "p95_ms": p95, "errors": errors}


def test_held_rate_is_the_top_of_the_unbroken_run_under_target() -> None:
    assert held_rate([summary(5, 120), summary(1, 50), summary(10, 400)]) == 5
    assert held_rate([summary(1, 50), summary(5, 320), summary(10, 100)]) == 1
    assert held_rate([summary(1, 50, errors=1), summary(5, 60)]) is None
    assert held_rate([summary(1, None)]) is None
    assert held_rate([summary(1, 299.9)]) == 1
    assert held_rate([summary(1, 300)]) is None
    assert held_rate([summary(1, 350)], p95_ms=400) == 1


def test_step_summary_counts_and_per_turn_medians() -> None:
    outcomes = [
        Outcome("greet", 10, True, True),
        Outcome("ask", 20, True, True),
        Outcome("number", 30, True, True, "wrong answer", "'x' -> 'y'"),
        Outcome("date", 1000, True, False, "timeout"),
        Outcome("greet", 30, True, True),
        Outcome("ask", None, False, False, "not sent: an earlier turn timed out"),
    ]
    step = StepResult("s", 2, 10, outcomes, cpu_seconds={"rasa": 0.5})
    s = step.summary()
    assert (s["due"], s["sent"], s["answered"], s["errors"]) == (6, 5, 4, 3)
    assert s["turn_p50_ms"] == {"greet": 10, "ask": 20, "number": 30, "date": 1000}
    assert s["p50_ms"] == 30 and s["p99_ms"] == 1000
    assert s["error_reasons"]["timeout"] == 1
    assert s["error_examples"] == {"wrong answer": "number: 'x' -> 'y'"}
    assert s["cpu_ms_per_message"] == {"rasa": 100.0}
    assert "cpu_ms_per_message_each" not in s  # one Rasa process: the summary as before
    step.cpu_seconds_each = {"rasa": 0.2, "rasa-2": 0.3}
    assert step.summary()["cpu_ms_per_message_each"] == {"rasa": 40.0, "rasa-2": 60.0}


def test_response_pattern_fills_known_placeholders_and_escapes_the_rest() -> None:
    pattern = response_pattern(
        ["Votre demande est : {statut}. Depuis le {depuis} (ANTS) ?"], statut="refusée"
    )
    assert pattern.search("Votre demande est : refusée. Depuis le 01/12/2026 (ANTS) ?")
    assert not pattern.search("Votre demande est : validée. Depuis le 01/12/2026 (ANTS) ?")
    assert not pattern.search("Votre demande est : refusée. Depuis le 01/12/2026 ANTS ?")
    either = response_pattern(["Bonjour.", "Salut."])
    assert either.search("Salut.") and not either.search("Bonsoir.")
    with pytest.raises(ValueError):
        response_pattern([])


def test_a_check_refuses_errors_empty_and_wrong_answers() -> None:
    check = expect(response_pattern(["Bonjour."]))
    assert check(200, [{"text": "Bonjour."}]) is None
    assert check(429, [{"text": "Bonjour."}]) == "HTTP 429"
    assert check(200, []) == "empty answer"
    assert check(200, None) == "empty answer"
    assert check(200, [{"text": "Au revoir."}]) == "wrong answer"


def rendered(domain: dict, name: str, **values: str) -> str:
    """A response's first text as Rasa would fill it."""
    return domain[name][0].format_map(values)


def test_each_dossier_answer_is_checked_against_its_own_dossier() -> None:
    domain = domain_responses(GUICHET_DOMAIN)
    dossiers = demo_dossiers()
    conversation = guichet_turns(domain, dossiers)
    catalogue = load_catalogue()

    def answer(dossier) -> list[dict]:  # type: ignore[no-untyped-def]
        status = responses.status(dossier.statut)
        status = status if status in domain else responses.STATUS_OTHER
        texts = [
            rendered(domain, "utter_dossier_demarche",
                     demarche=catalogue.procedures[dossier.demarche].label),
            rendered(domain, status, depuis="01/12/2026",
                     statut=catalogue.statuses[dossier.statut].label),
        ]  # fmt: skip
        return [{"text": t} for t in texts]

    for index, dossier in enumerate(dossiers):
        turns = conversation(index)
        assert [t.message for t in turns][2:] == [dossier.numero, dossier.typed_date]
        check = turns[3].check
        assert check(200, answer(dossier)) is None
        for other in dossiers:
            if (other.demarche, other.statut) != (dossier.demarche, dossier.statut):
                assert check(200, answer(other)) == "wrong answer", (dossier, other)
        assert check(200, [{"text": rendered(domain, "utter_dossier_not_found")}])
    greet, ask = conversation(0)[0].check, conversation(0)[1].check
    assert greet(200, [{"text": rendered(domain, "utter_greet")}]) is None
    assert ask(200, [{"text": rendered(domain, "utter_greet")}]) == "wrong answer"


def test_plain_rasa_conversation_expects_its_domain_answers() -> None:
    domain = domain_responses(PLAIN_DIR / "domain.yml")
    turns = plain_turns(domain, demo_dossiers())(1)
    assert [t.name for t in turns] == list(loadgen.TURN_NAMES)
    assert turns[2].message == demo_dossiers()[1].numero
    assert turns[3].check(200, [{"text": domain["utter_status"][0]}]) is None
    assert turns[3].check(200, [{"text": domain["utter_ask_date"][0]}]) == "wrong answer"


def test_plain_model_fingerprint_follows_its_files(tmp_path: Path) -> None:
    project = tmp_path / "plain"
    (project / "data").mkdir(parents=True)
    (project / "data" / "nlu.yml").write_text("a")
    lock = tmp_path / "rasa.lock"
    lock.write_text("rasa==3.6.21")
    first = plain_fingerprint(project, lock)
    assert plain_fingerprint(project, lock) == first
    (project / "data" / "nlu.yml").write_text("b")
    second = plain_fingerprint(project, lock)
    assert second != first
    lock.write_text("rasa==3.6.22")
    assert plain_fingerprint(project, lock) != second


async def _serve_once_then_close(port_holder: list[int], seen: list[bytes]) -> asyncio.Server:
    """A server that answers one request per connection, in chunks, then closes it."""

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = await reader.readuntil(b"\r\n\r\n")
        length = int(
            next(
                line for line in head.split(b"\r\n") if line.lower().startswith(b"content-length")
            ).split(b":")[1]
        )
        seen.append(
            writer.get_extra_info("peername")[0].encode() + b" " + await reader.readexactly(length)
        )
        writer.write(
            b"HTTP/1.1 200 OK\r\nSet-Cookie: c=1; Path=/\r\nSet-Cookie: d=2\r\n"
            b'Transfer-Encoding: chunked\r\n\r\n3\r\n[{"\r\n9\r\ntext": 1}\r\n1\r\n]\r\n0\r\n\r\n'
        )
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    port_holder.append(server.sockets[0].getsockname()[1])
    return server


def test_http_session_reads_chunks_and_reconnects_after_an_idle_close() -> None:
    async def scenario() -> tuple[list, list[bytes]]:
        port: list[int] = []
        seen: list[bytes] = []
        server = await _serve_once_then_close(port, seen)
        session = HttpSession(port[0], "127.1.0.9")
        try:
            first = await session.post_json("/x", {"m": 1}, {})
            await asyncio.sleep(0.05)  # the server has closed the connection meanwhile
            second = await session.post_json("/x", {"m": 2}, {})
        finally:
            session.close()
            server.close()
            await server.wait_closed()
        return [first, second], seen

    answers, seen = asyncio.run(scenario())
    for response in answers:
        assert response.status == 200
        assert response.json() == [{"text": 1}]
        assert response.header_values("set-cookie") == ["c=1; Path=/", "d=2"]
    assert seen == [b'127.1.0.9 {"m": 1}', b'127.1.0.9 {"m": 2}']


def test_profile_counts_a_function_once_per_sample_and_drops_the_process_frame() -> None:
    profile = parse_collapsed([
        'process 12:"python -m x";main (a.py:1);f (b.py:2);g (c.py:3);f (b.py:2) 3',
        "main (a.py:1);h (d.py:4) 1",
        "",
    ])  # fmt: skip
    assert profile.samples == 4
    assert profile.cumulative() == Counter(
        {"main (a.py:1)": 4, "f (b.py:2)": 3, "g (c.py:3)": 3, "h (d.py:4)": 1}
    )
    assert profile.own() == Counter({"f (b.py:2)": 3, "h (d.py:4)": 1})
    assert top(profile.own(), profile.samples, 1) == [(75.0, "f (b.py:2)")]


def test_profile_leaves_out_samples_where_python_waits() -> None:
    site = "/v/lib/python3.10/site-packages"
    profile = parse_collapsed([
        f"main (a.py:1);serve ({site}/sanic/server/runners.py:37) 5",
        "main (a.py:1);_worker (/usr/lib/python3.11/concurrent/futures/thread.py:69) 4",
        "main (a.py:1);Condition.wait (/usr/lib/python3.11/threading.py:295) 3",
        f"main (a.py:1);serve ({site}/sanic/server/runners.py:37);http1 ({site}/sanic/http.py:1) 2",
    ])  # fmt: skip
    busy = profile.busy()
    assert busy.samples == 2
    text = report("rasa", profile, 12.0, 5)
    assert text.startswith("## rasa: 2 busy samples, 12 ms CPU per message (12 idle-wait")
    # main and serve are in every busy sample: entry points, left out of the cumulative list.
    assert "100.0 %  http1 (sanic/http.py:1)" in text.split("### by own share")[1]
    assert "main (a.py:1)" not in text


def test_profile_frames_name_the_package_not_the_machine(tmp_path: Path) -> None:
    site = "/x/.venv-rasa/lib/python3.10/site-packages/rasa/core/processor.py"
    assert short(f"handle_message ({site}:152)") == "handle_message (rasa/core/processor.py:152)"
    assert short("copy (/usr/lib/python3.10/copy.py:66)") == "copy (copy.py:66)"
    assert short(f"run ({tmp_path}/assistant/x.py:3)", root=tmp_path) == "run (assistant/x.py:3)"
    assert short("send (send:1)") == "send (send:1)"


# --- Layouts: the scaled one as `make run-scaled` lays it out, the embedded one as before.


def test_free_ports_are_distinct() -> None:
    ports = free_ports(6)
    assert len(set(ports)) == 6


def _counter_ports(count: int) -> list[int]:
    return list(range(9000, 9000 + count))


def test_the_embedded_layout_is_make_run(tmp_path: Path) -> None:
    ports = EMBEDDED.ports(_counter_ports)
    assert (ports.api, ports.actions, ports.all_rasa) == (9000, 9001, (9002,))
    env = guichet_env(tmp_path)
    assert env["DATABASE_URL"] == f"sqlite:///{tmp_path / 'guichet.db'}"
    assert not any(k.startswith(("GUICHET_RASA_PROCESSES", "GUICHET_SCALED")) for k in env)
    services = build_services(ports, env, log_dir=tmp_path / "logs", var_dir=tmp_path)
    assert [s.name for s in services] == ["api", "actions", "rasa"]
    rasa = services[2].env
    assert rasa["GUICHET_RASA_URL"] == "http://127.0.0.1:9002"
    assert rasa["GUICHET_TRACKER_DB_URL"] == f"sqlite:///{tmp_path / 'rasa_tracker.db'}"
    assert rasa["GUICHET_LOCK_STORE_URL"] == ""
    assert "--workers" not in services[0].command[-1]
    assert EMBEDDED.label == "Guichet"


def _prepared(monkeypatch: pytest.MonkeyPatch, layout: Layout, environ: dict) -> dict:
    """scripts.scaled.prepare as the bench calls it, PostgreSQL and Redis left untouched."""
    calls = []
    monkeypatch.setattr(scaled, "ensure_database", lambda *a: calls.append(a) or True)
    monkeypatch.setattr(scaled, "check_redis", lambda url: calls.append(url))
    prepared = scaled.prepare(layout.scaled_request(environ, "guichet_bench_ab12"), report=str)
    (admin, database), lock_url = calls
    assert admin.endswith("/postgres") and database == "guichet_bench_ab12"
    assert lock_url == prepared["GUICHET_LOCK_STORE_URL"]
    return prepared


def test_the_scaled_layout_spreads_four_rasa_processes_on_its_own_stores(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    layout = Layout.scaled(rasa_processes=4)
    ports = layout.ports(_counter_ports)
    assert (ports.api, ports.actions, ports.all_rasa) == (9000, 9001, (9002, 9003, 9004, 9005))
    base = guichet_env(tmp_path)
    env = scaled_env(base, _prepared(monkeypatch, layout, {}))
    assert env["DATABASE_URL"] == "postgresql+psycopg://postgres@127.0.0.1:5432/guichet_bench_ab12"
    assert (
        env["GUICHET_TRACKER_DB_URL"] == "postgresql://postgres@127.0.0.1:5432/guichet_bench_ab12"
    )
    assert env["GUICHET_LOCK_STORE_URL"] == env["GUICHET_REDIS_URL"] == "redis://127.0.0.1:6379/3"
    assert not [k for k in env if k.startswith("GUICHET_SCALED_")]
    # The run's secrets and raised lookup caps are kept.
    assert {k: env[k] for k in base if k != "DATABASE_URL"} == {
        k: v for k, v in base.items() if k != "DATABASE_URL"
    }
    services = build_services(ports, env, log_dir=tmp_path / "logs", var_dir=tmp_path)
    assert [s.name for s in services] == ["api", "actions", "rasa", "rasa-2", "rasa-3", "rasa-4"]
    assert services[0].command[-1].endswith("--workers 2")
    shared = services[2].env
    assert shared["GUICHET_RASA_URL"].split(",") == [
        f"http://127.0.0.1:{port}" for port in (9002, 9003, 9004, 9005)
    ]
    assert shared["ACTION_SERVER_SANIC_WORKERS"] == "2" and shared["SANIC_WORKERS"] == "1"
    assert shared["GUICHET_TRACKER_DB_URL"] == env["GUICHET_TRACKER_DB_URL"]
    assert [s.log_path.name for s in services[2:]] == [
        "rasa.log", "rasa-2.log", "rasa-3.log", "rasa-4.log"
    ]  # fmt: skip


def test_the_scaled_layout_follows_the_servers_named_in_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    layout = Layout.scaled(rasa_processes=1, api_workers=3, action_workers=1)
    environ = {
        "GUICHET_SCALED_PG_URL": "postgresql://me:pw@db:5433",
        "GUICHET_SCALED_REDIS_URL": "redis://cache:6380",
        "GUICHET_SCALED_DATABASE": "someone_elses",  # never the bench's database
        "GUICHET_SCALED_REDIS_DB": "1",
    }
    prepared = _prepared(monkeypatch, layout, environ)
    assert prepared["DATABASE_URL"] == "postgresql+psycopg://me:pw@db:5433/guichet_bench_ab12"
    assert prepared["GUICHET_LOCK_STORE_URL"] == "redis://cache:6380/3"
    assert (prepared["GUICHET_RASA_PROCESSES"], prepared["GUICHET_API_WORKERS"]) == ("1", "3")
    assert prepared["ACTION_SERVER_SANIC_WORKERS"] == "1"
    assert layout.label == "Guichet scaled ×1 (API 3, actions 1)"
    assert Layout.scaled().label == "Guichet scaled ×2"


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        ([], EMBEDDED),
        (["--layout", "scaled"], Layout("scaled", 2, 2, 2)),
        (["--layout", "scaled", "--rasa-processes", "4"], Layout("scaled", 4, 2, 2)),
        (["--layout", "scaled", "--api-workers", "1"], Layout("scaled", 2, 1, 2)),
    ],
)
def test_layout_options(argv: list[str], expected: Layout, monkeypatch: pytest.MonkeyPatch) -> None:
    from bench import text_turn

    seen = []
    monkeypatch.setattr(text_turn, "layout_from_args", _spy(text_turn.layout_from_args, seen))
    monkeypatch.setattr(text_turn, "MODEL_PATH", Path("/nonexistent/model.tar.gz"))
    assert main([*argv, "--only", "guichet"]) == 1  # stops there: no model
    assert seen == [expected]


def _spy(function, seen: list):  # type: ignore[no-untyped-def]
    def spied(*args):  # type: ignore[no-untyped-def]
        seen.append(function(*args))
        return seen[-1]

    return spied


@pytest.mark.parametrize("option", ["--rasa-processes", "--api-workers", "--action-workers"])
def test_process_counts_are_refused_in_the_embedded_layout(option: str) -> None:
    with pytest.raises(SystemExit) as stopped:
        main([option, "2"])
    assert stopped.value.code == 2
    with pytest.raises(SystemExit):
        main(["--layout", "scaled", option, "0"])


# --- CPU of every process of a kind.


def _fake_proc(root: Path, processes: dict[int, tuple[str, int, int, int, int, int]]) -> None:
    """A /proc of `processes`: pid -> (command, ppid, pgrp, session, utime, stime)."""
    for pid, (command, ppid, pgrp, session, utime, stime) in processes.items():
        fields = ["S", ppid, pgrp, session, 0, -1, 0, 0, 0, 0, 0, utime, stime, 0, 0, 20, 0, 3]
        (root / str(pid)).mkdir()
        (root / str(pid) / "stat").write_text(f"{pid} ({command}) " + " ".join(map(str, fields)))


def test_cpu_counts_every_process_a_service_started(tmp_path: Path) -> None:
    _fake_proc(tmp_path, {
        1: ("init", 0, 1, 1, 5, 5),
        50: ("make", 1, 50, 50, 1000, 1000),  # the bench's parent: not a service
        100: ("python -m assistant.rasa_server", 50, 100, 100, 300, 100),
        200: ("python -m assistant.rasa_server", 50, 200, 200, 200, 0),
        300: ("sh", 50, 300, 300, 1, 1),  # the API's shell…
        301: ("python -m uvicorn", 300, 300, 300, 10, 10),  # …which forked it (no exec)
        302: ("python -c from multiprocessing.spawn import (x)", 301, 300, 300, 70, 30),
        303: ("python -c from multiprocessing.spawn import (x)", 301, 300, 300, 60, 40),
        304: ("a worker of its own session", 303, 304, 304, 5, 5),
        400: ("python -m assistant.action_server", 50, 400, 400, 20, 0),
        401: ("worker", 1, 400, 400, 30, 0),  # orphaned, still in the service's group
    })  # fmt: skip
    (tmp_path / "self").mkdir()  # not a process
    (tmp_path / "999").mkdir()  # ended while /proc was read: no stat
    snapshot = proc_snapshot(tmp_path)
    assert set(snapshot) == {1, 50, 100, 200, 300, 301, 302, 303, 304, 400, 401}
    assert (snapshot[302].ppid, snapshot[302].pgrp, snapshot[302].session) == (301, 300, 300)
    tick = 1 / os.sysconf("SC_CLK_TCK")
    assert group_cpu_seconds(snapshot, 100) == pytest.approx(400 * tick)
    assert group_cpu_seconds(snapshot, 300) == pytest.approx(232 * tick)
    assert math.isnan(group_cpu_seconds(snapshot, 777))
    used = cpu_by_kind(snapshot, {"api": 300, "actions": 400, "rasa": 100, "rasa-2": 200})
    assert used == pytest.approx({"api": 232 * tick, "actions": 50 * tick, "rasa": 600 * tick})
    # A Rasa process that has died makes the kind's sum unknown, not smaller.
    assert math.isnan(cpu_by_kind(snapshot, {"rasa": 100, "rasa-2": 777})["rasa"])
    assert sorted(p.pid for p in group_members(snapshot, 300)) == [300, 301, 302, 303, 304]
    assert sorted(p.pid for p in group_members(snapshot, 400)) == [400, 401]


def test_cpu_snapshot_reads_this_machine() -> None:
    snapshot = proc_snapshot()
    me = snapshot[os.getpid()]
    assert me.ppid == os.getppid() and me.pgrp == os.getpgrp() and me.session == os.getsid(0)
    assert group_cpu_seconds(snapshot, os.getpid()) >= loadgen.process_cpu_seconds(os.getpid())


# --- One table from several runs.


def test_runs_saved_apart_make_one_table() -> None:
    def run(*systems: str) -> dict:
        return {"results": [
            {"system": name, "rate": rate, "p50_ms": 1, "p95_ms": 2, "p99_ms": 3, "errors": 0,
             "turn_p50_ms": dict.fromkeys(loadgen.TURN_NAMES, 1)}
            for name in systems for rate in (1, 5)
        ]}  # fmt: skip

    summaries, labels = merged_results(
        [run("plain Rasa", "Guichet"), run("Guichet scaled ×2"), run("Guichet")]
    )
    assert labels == ["plain Rasa", "Guichet", "Guichet scaled ×2", "Guichet (file 3)"]
    assert len(summaries) == 8
    assert [s["system"] for s in summaries][-2:] == ["Guichet (file 3)"] * 2
