"""Start and supervise the whole assistant: `python -m scripts.services [--scaled]`.

API + pages, action server and Rasa start in dependency order, each with its log under logs/.
A port already taken is reported before anything starts; Ctrl-C stops everything. The same
`Stack` is used by the end-to-end and scaling tests on other ports.

How many processes, and where conversations and their locks live, is configuration only
(`Layout`, docs/scaling.md): by default one of each, SQLite and an in-memory lock store;
`--scaled` (`make run-scaled`) prepares the local PostgreSQL and Redis (scripts/scaled.py)
and starts two Rasa processes, two API workers and two action server workers on them.
"""

import argparse
import os
import shlex
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path

import httpx
from dotenv import dotenv_values

from scripts.paths import (
    DEV_PYTHON,
    LOG_DIR,
    LOGGING_CONFIG,
    MODEL_PATH,
    RASA_PYTHON,
    ROOT,
    VAR_DIR,
    rasa_env,
)

HOST = "127.0.0.1"


class StackError(RuntimeError):
    """A service could not start; the message says which and where its log is."""


@dataclass(frozen=True)
class Ports:
    """Local ports of the services: one per Rasa process (`rasa`, then `more_rasa`)."""

    api: int = 8000
    actions: int = 5055
    rasa: int = 5005
    more_rasa: tuple[int, ...] = ()
    # The voice gateway (voice/gateway.py): its HTTP/WebSocket port and its SIP port (UDP).
    # None: no gateway (the chat-only tests).
    voice: int | None = None
    sip: int = 5060

    @property
    def all_rasa(self) -> tuple[int, ...]:
        return (self.rasa, *self.more_rasa)

    @classmethod
    def from_env(
        cls, env: dict[str, str] | None = None, rasa_processes: int = 1, voice: bool = False
    ) -> "Ports":
        """Ports from GUICHET_*_PORT; the Rasa processes on consecutive ports; with `voice`,
        the voice gateway's (GUICHET_VOICE_PORT, GUICHET_VOICE_SIP_PORT)."""
        env = os.environ if env is None else env
        rasa = int(env.get("GUICHET_RASA_PORT", 5005))
        return cls(
            api=int(env.get("GUICHET_API_PORT", 8000)),
            actions=int(env.get("GUICHET_ACTIONS_PORT", 5055)),
            rasa=rasa,
            more_rasa=tuple(rasa + n for n in range(1, rasa_processes)),
            voice=int(env.get("GUICHET_VOICE_PORT", 2700)) if voice else None,
            sip=int(env.get("GUICHET_VOICE_SIP_PORT", 5060)),
        )


def _count(env: dict[str, str], name: str, default: int) -> int:
    value = env.get(name, "").strip()
    if not value:
        return default
    if not value.isdigit() or int(value) < 1:
        raise StackError(
            f"{name}={value!r} : un nombre entier d'au moins 1 est attendu. "
            f"/ {name} must be a whole number of at least 1."
        )
    return int(value)


@dataclass(frozen=True)
class Layout:
    """How many processes of each kind, and where the state they share lives.

    Read from the environment (docs/scaling.md): GUICHET_RASA_PROCESSES, SANIC_WORKERS (per
    Rasa process), ACTION_SERVER_SANIC_WORKERS, GUICHET_API_WORKERS, GUICHET_TRACKER_DB_URL
    (empty: SQLite in var/), GUICHET_LOCK_STORE_URL (empty: in memory).
    """

    rasa_processes: int = 1
    rasa_workers: int = 1
    action_workers: int = 1
    api_workers: int = 1
    tracker_db_url: str = ""
    lock_store_url: str = ""

    @classmethod
    def from_env(cls, env: dict[str, str]) -> "Layout":
        return cls(
            rasa_processes=_count(env, "GUICHET_RASA_PROCESSES", 1),
            rasa_workers=_count(env, "SANIC_WORKERS", 1),
            action_workers=_count(env, "ACTION_SERVER_SANIC_WORKERS", 1),
            api_workers=_count(env, "GUICHET_API_WORKERS", 1),
            tracker_db_url=env.get("GUICHET_TRACKER_DB_URL", "").strip(),
            lock_store_url=env.get("GUICHET_LOCK_STORE_URL", "").strip(),
        )

    @property
    def shares_conversations(self) -> bool:
        """Whether more than one Rasa process (or worker) handles conversations."""
        return self.rasa_processes * self.rasa_workers > 1

    def check(self) -> None:
        """Refuse what would mix up or lose messages, before anything starts."""
        if not self.shares_conversations:
            return
        if not self.lock_store_url:
            raise StackError(
                f"{self.rasa_processes} processus Rasa × {self.rasa_workers} workers sans "
                "GUICHET_LOCK_STORE_URL : deux messages d'une conversation pourraient être "
                "traités en même temps. Donnez une adresse Redis (redis://127.0.0.1:6379/1) ou "
                "utilisez `make run-scaled`. / Several Rasa processes or workers need a Redis "
                "lock store: set GUICHET_LOCK_STORE_URL (redis://127.0.0.1:6379/1)."
            )
        if not self.tracker_db_url or self.tracker_db_url.startswith("sqlite"):
            raise StackError(
                "Plusieurs processus Rasa ne partagent pas un fichier SQLite : donnez "
                "GUICHET_TRACKER_DB_URL=postgresql://… ou utilisez `make run-scaled`. / Several "
                "Rasa processes need a shared tracker store: set GUICHET_TRACKER_DB_URL to a "
                "postgresql:// URL."
            )


@dataclass
class Service:
    """One supervised process and how to know it is ready."""

    name: str
    label: str
    command: list[str]
    port: int
    ready_path: str
    env: dict[str, str]
    log_path: Path
    startup_seconds: float
    # A UDP port it also needs (the voice gateway's SIP port), checked before anything starts.
    udp_port: int | None = None
    process: subprocess.Popen | None = field(default=None, repr=False)

    def start(self) -> None:
        # Logs and the data each service creates are for the service user only.
        self.log_path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        self.log_path.parent.chmod(0o700)
        log = os.fdopen(os.open(self.log_path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600), "ab")
        os.chmod(self.log_path, 0o600)
        self.process = subprocess.Popen(
            self.command,
            cwd=ROOT,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
            umask=0o077,
        )
        log.close()

    def wait_ready(self) -> None:
        """Poll the ready URL until it answers 200, the process dies or time runs out."""
        deadline = time.monotonic() + self.startup_seconds
        url = f"http://{HOST}:{self.port}{self.ready_path}"
        while time.monotonic() < deadline:
            if self.process is not None and self.process.poll() is not None:
                raise StackError(
                    f"{self.label} s'est arrêté au démarrage (code {self.process.returncode}). "
                    f"Journal : {self.log_path}\n{tail(self.log_path)}"
                )
            try:
                if httpx.get(url, timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.5)
        raise StackError(
            f"{self.label} n'a pas répondu sur {url} en {self.startup_seconds:.0f} s. "
            f"Journal : {self.log_path}\n{tail(self.log_path)}"
        )

    def stop(self, grace_seconds: float = 10) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(grace_seconds)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()


def tail(path: Path, lines: int = 15) -> str:
    """The last lines of a log, to show why a service failed."""
    if not path.exists():
        return ""
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])


def port_is_free(port: int, kind: int = socket.SOCK_STREAM) -> bool:
    """True when nothing listens on HOST:port (TCP, or UDP with kind=SOCK_DGRAM)."""
    with socket.socket(socket.AF_INET, kind) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((HOST, port))
        except OSError:
            return False
    return True


def local_env(env_file: Path = ROOT / ".env") -> dict[str, str]:
    """Process environment completed by the local .env (a non-empty environment value wins;
    the Makefile exports some variables empty for the commands that need no value)."""
    values = {k: v for k, v in dotenv_values(env_file).items() if v is not None}
    return {**values, **{k: v for k, v in os.environ.items() if v or k not in values}}


def build_services(
    ports: Ports,
    base_env: dict[str, str],
    log_dir: Path = LOG_DIR,
    var_dir: Path = VAR_DIR,
    model_path: Path = MODEL_PATH,
) -> list[Service]:
    """The services in start order, wired to each other on `ports`, laid out as `base_env`
    says (`Layout`): one Rasa process per port of `ports.all_rasa`.

    Only the API process faces people (pages and the chat door); Rasa and the action server
    listen on loopback and answer only to the holder of their token.
    """
    layout = Layout.from_env(base_env)
    layout = replace(layout, rasa_processes=len(ports.all_rasa))
    layout.check()
    tracker_url = layout.tracker_db_url or f"sqlite:///{var_dir / 'rasa_tracker.db'}"
    # The door limits per address: it believes X-Forwarded-For only from the reverse proxies
    # named here (a deployment's), never from whoever connects.
    proxies = base_env.get("GUICHET_TRUSTED_PROXIES", "")
    proxy_options = (
        f"--proxy-headers --forwarded-allow-ips {shlex.quote(proxies)}"
        if proxies
        else "--no-proxy-headers"
    )
    var_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    var_dir.chmod(0o700)
    api_workers = f" --workers {layout.api_workers}" if layout.api_workers > 1 else ""
    shared = {
        **base_env,
        "GUICHET_API_URL": f"http://{HOST}:{ports.api}",
        # The chat door keeps each conversation to one of them (api/chat_door.py).
        "GUICHET_RASA_URL": ",".join(f"http://{HOST}:{port}" for port in ports.all_rasa),
        "GUICHET_ACTION_SERVER_URL": f"http://{HOST}:{ports.actions}/webhook",
        "GUICHET_TRACKER_DB_URL": tracker_url,
        "GUICHET_LOCK_STORE_URL": layout.lock_store_url,
        "SANIC_WORKERS": str(layout.rasa_workers),
        "ACTION_SERVER_SANIC_WORKERS": str(layout.action_workers),
        "SANIC_HOST": HOST,
        # The chat door reads answers aloud through the voice gateway, when there is one.
        "GUICHET_VOICE_URL": f"http://{HOST}:{ports.voice}" if ports.voice is not None else "",
    }
    # Rasa processes load the model at the same time: the cores are shared.
    rasa_startup = 180 + 90 * (layout.rasa_processes * layout.rasa_workers - 1)
    return [
        Service(
            name="api",
            label="API des dossiers et pages web",
            # Seeding (idempotent) runs here, not before the stack, so Rasa's slow model
            # load starts at once.
            command=["/bin/sh", "-c",
                     f'"{DEV_PYTHON}" -m api.seed && exec "{DEV_PYTHON}" -m uvicorn api.asgi:app'
                     f" --host {HOST} --port {ports.api} --no-access-log {proxy_options}"
                     f"{api_workers}"],
            port=ports.api,
            ready_path="/ready",
            env=shared,
            log_path=log_dir / "api.log",
            startup_seconds=30,
        ),
        Service(
            name="actions",
            label="Serveur d'actions Rasa",
            command=[str(RASA_PYTHON), "-m", "assistant.action_server",
                     "--actions", "assistant.actions", "--port", str(ports.actions),
                     "--logging-config_file", str(LOGGING_CONFIG)],
            port=ports.actions,
            ready_path="/health",
            env=rasa_env(shared),
            log_path=log_dir / "actions.log",
            startup_seconds=60,
        ),
        *(
            Service(
                name=f"rasa-{number}" if number > 1 else "rasa",
                label=f"Serveur Rasa {number}" if number > 1 else "Serveur Rasa",
                # The HTTP API is on only behind GUICHET_RASA_TOKEN (assistant/rasa_server.py).
                command=[str(RASA_PYTHON), "-m", "assistant.rasa_server",
                         "--interface", HOST, "--port", str(port),
                         "--model", str(model_path),
                         "--endpoints", "endpoints.yml", "--credentials", "credentials.yml",
                         "--logging-config-file", str(LOGGING_CONFIG)],
                port=port,
                # The chat channel's health route: Rasa listens only once its model is loaded.
                ready_path="/webhooks/chat/",
                env=rasa_env(shared),
                log_path=log_dir / (f"rasa-{number}.log" if number > 1 else "rasa.log"),
                startup_seconds=rasa_startup,
            )
            for number, port in enumerate(ports.all_rasa, start=1)
        ),
        *([voice_service(ports, shared, log_dir)] if ports.voice is not None else []),
    ]  # fmt: skip


def voice_service(ports: Ports, shared: dict[str, str], log_dir: Path) -> Service:
    """The voice gateway: the phone line (SIP, UDP) and the kiosk microphone (WebSocket).

    It talks to Rasa's voice channel with GUICHET_VOICE_TOKEN; it is ready once its fixed
    prompts are synthesized, whether Rasa is up yet or not.
    """
    assert ports.voice is not None
    return Service(
        name="voice",
        label="Passerelle vocale (téléphone, micro)",
        command=[str(DEV_PYTHON), "-m", "voice.gateway"],
        port=ports.voice,
        ready_path="/health",
        env={
            **shared,
            "GUICHET_VOICE_PORT": str(ports.voice),
            "GUICHET_VOICE_SIP_PORT": str(ports.sip),
            "PYTHONPATH": str(ROOT),
        },
        log_path=log_dir / "voice.log",
        startup_seconds=90,
        udp_port=ports.sip,
    )


def voice_summary(ports: Ports) -> str:
    """How to call the gateway, and whether it hears speech or the keypad only."""
    try:
        health = httpx.get(f"http://{HOST}:{ports.voice}/health", timeout=5).json()
    except (httpx.HTTPError, ValueError):
        health = {}
    sip = health.get("sip") or f"sip:guichet@{HOST}:{ports.sip}"
    speech = (
        "reconnaissance de la parole active / speech recognition on"
        if health.get("speech") is True
        else "clavier seulement (pas de modèle Vosk : `make voice-model`) / keypad only"
    )
    return f"[run] Téléphone : appelez {sip} — {speech}"


class Stack:
    """The running services, started in order and stopped in reverse."""

    def __init__(self, services: list[Service]) -> None:
        self.services = services

    def check_ports(self) -> None:
        taken = [(s, s.port) for s in self.services if not port_is_free(s.port)]
        taken += [
            (s, s.udp_port)
            for s in self.services
            if s.udp_port is not None and not port_is_free(s.udp_port, socket.SOCK_DGRAM)
        ]
        if taken:
            lines = [
                f"Le port {port} ({s.label}) est déjà utilisé : une autre instance de Guichet "
                f"tourne peut-être, ou un autre programme. / Port {port} is already in use."
                for s, port in taken
            ]
            raise StackError("\n".join(lines))

    def start(self, report=print) -> None:  # type: ignore[no-untyped-def]
        self.check_ports()
        try:
            # All start at once (Rasa's model load is the long pole), then each is awaited.
            started = time.monotonic()
            for service in self.services:
                report(f"[run] Démarrage : {service.label} (port {service.port})…")
                service.start()
            for service in self.services:
                service.wait_ready()
                report(f"[run] Prêt : {service.label} ({time.monotonic() - started:.1f} s)")
        except BaseException:
            self.stop()
            raise

    def stop(self) -> None:
        for service in reversed(self.services):
            service.stop()

    def first_exited(self) -> Service | None:
        return next(
            (s for s in self.services if s.process is not None and s.process.poll() is not None),
            None,
        )


@contextmanager
def running(services: list[Service]) -> Iterator[Stack]:
    """Run `services` for the duration of a with-block."""
    stack = Stack(services)
    stack.start(report=lambda _line: None)
    try:
        yield stack
    finally:
        stack.stop()


def _interrupt(_signum: int, _frame: object) -> None:
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Start and supervise Guichet.")
    parser.add_argument(
        "--scaled",
        action="store_true",
        help="the scaled layout on the local PostgreSQL and Redis (docs/scaling.md)",
    )
    parser.add_argument(
        "--stop-when-ready",
        action="store_true",
        help="stop everything once every service answers: to time a start (docs/performance.md)",
    )
    args = parser.parse_args(argv)
    if not MODEL_PATH.exists():
        print(f"[run] Modèle absent ({MODEL_PATH}) : lancez `make run`.", file=sys.stderr)
        return 1
    try:
        env = local_env()
        if args.scaled:
            from scripts import scaled  # it uses StackError from here

            env = scaled.prepare(env, report=print)
        ports = Ports.from_env(env, Layout.from_env(env).rasa_processes, voice=True)
        stack = Stack(build_services(ports, env))
    except StackError as error:
        print(f"[run] {error}", file=sys.stderr)
        return 1
    # Ctrl-C and a plain `kill` both stop everything, even when started in the background.
    signal.signal(signal.SIGINT, _interrupt)
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        stack.start()
        print(
            f"\n[run] Guichet est prêt. Page de discussion : http://{HOST}:{ports.api}/\n"
            f"{voice_summary(ports)}\n"
            f"[run] Journaux : {LOG_DIR}/  —  Ctrl-C pour tout arrêter.\n",
            flush=True,
        )
        if args.stop_when_ready:
            return 0
        while (failed := stack.first_exited()) is None:
            time.sleep(1)
        print(
            f"[run] {failed.label} s'est arrêté (code {failed.process.returncode}). "
            f"Journal : {failed.log_path}\n{tail(failed.log_path)}",
            file=sys.stderr,
        )
        return 1
    except StackError as error:
        print(f"[run] {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("\n[run] Arrêt en cours…", flush=True)
        return 0
    finally:
        stack.stop()
        print("[run] Tous les services sont arrêtés.", flush=True)


if __name__ == "__main__":
    sys.exit(main())
