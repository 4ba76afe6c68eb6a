"""Two real Rasa processes sharing one PostgreSQL tracker store and one Redis lock store.

The stack is the scaled layout of `make run-scaled` (scripts/services.py with a `Layout` of two
Rasa processes), on a fresh PostgreSQL database and an empty Redis database index, both
dropped afterwards, with the real action server and API (on the same PostgreSQL database).

1. 50 status conversations at once, each message sent straight to a Rasa process's chat
   channel with the door's token, alternating the two processes, in pairs that are in flight
   together: a message goes to one process, and as soon as it holds its ticket in the lock
   store (so "sent first" is well defined) the next one goes to the other process, before the
   first is answered. Each answer must be the right one, and the tracker store must hold every
   user message once, in the order sent, each answered before the next one was read.
2. Conversations that gave their number to one process, and others whose number is being
   handled there, then `kill -9` of that process: the conversations go on on the other one,
   which asks the date of birth (the form state is in PostgreSQL) and tells the right status;
   one waits at most the ticket lifetime for the lock the dead process held. Through the chat
   door too: a conversation the door kept to the dead process moves to the live one.
"""

import asyncio
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest
import redis
import redis.asyncio as aioredis
import sqlalchemy as sa

from api.chat_door import COOKIE_NAME, ConversationCookie, replica_order
from scripts.ensure_env import SECRET_KEYS
from scripts.paths import MODEL_PATH
from scripts.services import Ports, Service, StackError, build_services, running
from tests.scale.services import driver_url, scratch_redis, temporary_database

# A ticket held by a killed process blocks its conversation this long (Rasa's default: 60 s).
TICKET_LIFETIME = 20
LOCK_KEY_PREFIX = "guichet:lock:"
ASK_NUMBER = "Quel est le numéro de votre demande ?"
ASK_BIRTH_DATE = "Quelle est votre date de naissance ?"


@dataclass(frozen=True)
class Dossier:
    number: str
    typed_number: str
    birth_date: str
    status_words: str


DOSSIERS = (
    Dossier("2611000001", "2611000001", "12/03/1948", "en cours d'instruction"),
    Dossier("2611000002", "26 11 000 002", "04/07/1961", "justificatif de domicile"),
    Dossier("2611000006", "2611000006", "2 septembre 1940", "contrôle technique"),
)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class ScaledStack:
    env: dict[str, str]
    ports: Ports
    services: list[Service]
    tracker_url: str
    redis_url: str

    def rasa(self, number: int) -> Service:
        return [s for s in self.services if s.name.startswith("rasa")][number]

    def rasa_url(self, number: int) -> str:
        return f"http://127.0.0.1:{self.ports.all_rasa[number]}/webhooks/chat/webhook"


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ScaledStack]:
    if not MODEL_PATH.exists():
        pytest.fail(f"no trained model at {MODEL_PATH}: run `make model` first")
    workdir = tmp_path_factory.mktemp("scaled")
    with temporary_database() as tracker_url, scratch_redis() as redis_url:
        api_url = driver_url(tracker_url).set(drivername="postgresql+psycopg")
        env = {
            "PATH": "/usr/bin:/bin",
            "HOME": os.environ.get("HOME", "/root"),
            "GUICHET_ENV": "development",
            "DATABASE_URL": api_url.render_as_string(hide_password=False),
            "GUICHET_TRACKER_DB_URL": tracker_url,
            "GUICHET_LOCK_STORE_URL": redis_url,
            "GUICHET_REDIS_URL": redis_url,
            "TICKET_LOCK_LIFETIME": str(TICKET_LIFETIME),
            "ACTION_SERVER_SANIC_WORKERS": "2",
            **{name: secrets.token_urlsafe(24) for name in SECRET_KEYS},
        }
        seed = subprocess.run(
            [sys.executable, "-m", "api.seed"], env=env, capture_output=True, text=True
        )
        assert seed.returncode == 0, seed.stderr
        ports = Ports(
            api=free_port(), actions=free_port(), rasa=free_port(), more_rasa=(free_port(),)
        )
        services = build_services(ports, env, log_dir=workdir / "logs", var_dir=workdir)
        assert [s.name for s in services] == ["api", "actions", "rasa", "rasa-2"]
        try:
            with running(services):
                yield ScaledStack(env, ports, services, tracker_url, redis_url)
        except StackError as error:
            pytest.fail(str(error))


async def say(
    client: httpx.AsyncClient, stack: ScaledStack, replica: int, sender: str, text: str
) -> list[str]:
    """One message to a Rasa process's chat channel, as the door sends it; the answer's texts."""
    response = await client.post(
        stack.rasa_url(replica),
        json={"sender": sender, "message": text, "metadata": {"asker": sender, "door": "web"}},
        headers={"Authorization": f"Bearer {stack.env['GUICHET_CHAT_TOKEN']}"},
    )
    response.raise_for_status()
    return [answer.get("text", "") for answer in response.json()]


async def pair(
    client: httpx.AsyncClient,
    locks: aioredis.Redis,
    stack: ScaledStack,
    sender: str,
    first: tuple[int, str],
    second: tuple[int, str],
) -> tuple[list[str], list[str], bool]:
    """Send `first`, then `second` to the other process once `first` holds its ticket.

    Returns both answers and whether `second` was sent before `first` was answered."""
    answer = asyncio.create_task(say(client, stack, first[0], sender, first[1]))
    while not answer.done() and not await locks.exists(LOCK_KEY_PREFIX + sender):
        await asyncio.sleep(0.005)
    in_flight_together = not answer.done()
    second_answer = await say(client, stack, second[0], sender, second[1])
    return await answer, second_answer, in_flight_together


def stored_turns(stack: ScaledStack) -> dict[str, list[tuple[str, str]]]:
    """Each conversation's user and bot events, as the tracker store holds them, in order."""
    engine = sa.create_engine(driver_url(stack.tracker_url))
    try:
        with engine.connect() as connection:
            rows = connection.execute(
                sa.text(
                    "SELECT sender_id, type_name, data FROM events "
                    "WHERE type_name IN ('user', 'bot') ORDER BY id"
                )
            ).all()
    finally:
        engine.dispose()
    turns: dict[str, list[tuple[str, str]]] = {}
    for sender, kind, data in rows:
        turns.setdefault(sender, []).append((kind, json.loads(data).get("text") or ""))
    return turns


def user_texts(events: list[tuple[str, str]]) -> list[str]:
    return [text for kind, text in events if kind == "user"]


def each_answered_before_the_next(events: list[tuple[str, str]]) -> bool:
    """Every user message is followed by a bot message before the next user message."""
    kinds = [kind for kind, _text in events]
    return kinds[0] == "user" and kinds[-1] == "bot" and "useruser" not in "".join(kinds)


def test_interleaved_conversations_on_two_processes_keep_their_order(stack):
    conversations = [f"ordre-{n:02d}-{secrets.token_hex(4)}" for n in range(50)]

    async def converse(client, locks, n: int, sender: str) -> tuple[Dossier, list, int]:
        dossier = DOSSIERS[n % len(DOSSIERS)]
        here, there = n % 2, (n + 1) % 2
        hello, ask, first_together = await pair(
            client, locks, stack, sender, (here, "Bonjour"), (there, "Où en est mon dossier ?")
        )
        number, status, second_together = await pair(
            client, locks, stack, sender, (here, dossier.typed_number), (there, dossier.birth_date)
        )
        return dossier, [hello, ask, number, status], first_together + second_together

    async def everyone():
        locks = aioredis.Redis.from_url(stack.redis_url)
        async with httpx.AsyncClient(timeout=120) as client:
            try:
                return await asyncio.gather(
                    *(converse(client, locks, n, s) for n, s in enumerate(conversations))
                )
            finally:
                await locks.aclose()

    began = time.monotonic()
    results = asyncio.run(everyone())
    elapsed = time.monotonic() - began
    for dossier, (hello, ask, number, status), _together in results:
        assert "Guichet" in " ".join(hello)
        assert ASK_NUMBER in " ".join(ask)
        assert ASK_BIRTH_DATE in " ".join(number)
        assert dossier.status_words in " ".join(status), status
    together = sum(result[2] for result in results)
    print(f"\n200 messages in {elapsed:.1f} s, {together} of 100 pairs in flight together")
    # Most pairs really were handled by both processes at once (100 pairs in all).
    assert together >= 60, f"only {together} pairs in flight together ({elapsed:.0f} s)"

    turns = stored_turns(stack)
    for sender in conversations:
        events = turns[sender]
        assert user_texts(events) == ["Bonjour", "Où en est mon dossier ?", "[numéro]", "[date]"]
        assert each_answered_before_the_next(events), events
    assert redis.Redis.from_url(stack.redis_url).keys(LOCK_KEY_PREFIX + "*") == []


def test_conversations_go_on_when_a_process_is_killed(stack):
    dying, living = 1, 0
    gave_number = [f"panne-{n:02d}-{secrets.token_hex(4)}" for n in range(20)]
    under_way = [f"coupure-{n:02d}-{secrets.token_hex(4)}" for n in range(10)]
    dossier = {s: DOSSIERS[n % len(DOSSIERS)] for n, s in enumerate(gave_number + under_way)}
    locks = redis.Redis.from_url(stack.redis_url)

    async def scenario() -> list[tuple[list[str], float]]:
        async with httpx.AsyncClient(timeout=120) as client:

            async def give_number(sender: str) -> list[str]:
                await say(client, stack, dying, sender, "Où en est mon dossier ?")
                return await say(client, stack, dying, sender, dossier[sender].typed_number)

            for answer in await asyncio.gather(*(give_number(s) for s in gave_number)):
                assert ASK_BIRTH_DATE in " ".join(answer)
            await asyncio.gather(
                *(say(client, stack, dying, s, "Où en est mon dossier ?") for s in under_way)
            )
            numbers = [
                asyncio.create_task(say(client, stack, dying, s, dossier[s].typed_number))
                for s in under_way
            ]
            # Killed while it handles one of them: as soon as a ticket of theirs is taken (a
            # fixed delay was either too early or, once turns got faster, too late).
            deadline = time.monotonic() + 10
            while not any(locks.exists(LOCK_KEY_PREFIX + s) for s in under_way):
                assert time.monotonic() < deadline, "the numbers never reached the process"
                await asyncio.sleep(0.002)
            os.kill(stack.rasa(dying).process.pid, signal.SIGKILL)
            outcomes = await asyncio.gather(*numbers, return_exceptions=True)
            # The dead process's tickets: their conversations wait for them to expire.
            stale = [s for s in under_way if locks.exists(LOCK_KEY_PREFIX + s)]
            assert stale, "no message was being handled when the process died"
            assert any(isinstance(outcome, httpx.HTTPError) for outcome in outcomes)

            async def go_on(sender: str, outcome: object) -> tuple[list[str], float]:
                began = time.monotonic()
                if sender in under_way and not (
                    isinstance(outcome, list) and ASK_BIRTH_DATE in " ".join(outcome)
                ):
                    # Never answered: the person says it again, to the other process.
                    again = " ".join(
                        await say(client, stack, living, sender, dossier[sender].typed_number)
                    )
                    # Asked the date, or, when the dead process had saved the number before
                    # dying, told that this is not a date and asked again.
                    assert ASK_BIRTH_DATE in again or "Je n'ai pas compris cette date" in again
                waited = time.monotonic() - began
                return await say(client, stack, living, sender, dossier[sender].birth_date), waited

            return await asyncio.gather(
                *(go_on(s, None) for s in gave_number),
                *(go_on(s, o) for s, o in zip(under_way, outcomes, strict=True)),
            )

    results = asyncio.run(scenario())
    senders = gave_number + under_way
    for sender, (answer, _waited) in zip(senders, results, strict=True):
        assert dossier[sender].status_words in " ".join(answer), (sender, answer)
    longest = max(waited for _answer, waited in results)
    print(f"\nlongest wait after the kill: {longest:.1f} s")
    assert longest < TICKET_LIFETIME + 15

    turns = stored_turns(stack)
    for sender in gave_number:
        assert user_texts(turns[sender]) == ["Où en est mon dossier ?", "[numéro]", "[date]"]
        assert each_answered_before_the_next(turns[sender])
    for sender in under_way:
        texts = user_texts(turns[sender])
        assert texts[:2] == ["Où en est mon dossier ?", "[numéro]"] and texts[-1] == "[date]"
        assert len(texts) in (3, 4), texts
        assert each_answered_before_the_next(turns[sender]), turns[sender]

    # Through the chat door: a conversation it keeps to the dead process moves to the live one.
    cookies = ConversationCookie(stack.env["GUICHET_COOKIE_KEY"], max_age_seconds=3600)
    door = f"http://127.0.0.1:{stack.ports.api}/chat/messages"
    for _attempt in range(20):
        with httpx.Client(timeout=120) as browser:
            first = browser.post(door, json={"message": "Où en est mon dossier ?"})
            conversation = cookies.read(browser.cookies.get(COOKIE_NAME))
            if replica_order(conversation, 2)[0] != dying:
                continue
            assert ASK_NUMBER in " ".join(m.get("text", "") for m in first.json())
            browser.post(door, json={"message": DOSSIERS[0].typed_number}).raise_for_status()
            status = browser.post(door, json={"message": DOSSIERS[0].birth_date})
            assert DOSSIERS[0].status_words in " ".join(m.get("text", "") for m in status.json())
            break
    else:
        pytest.fail("the door kept no new conversation to the dead process in 20 tries")
