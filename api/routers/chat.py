"""The public chat door's routes: one message in, the assistant's answers out.

The conversation lives in a signed, HttpOnly, SameSite=Strict cookie set by the server; a
request without a valid one starts a new conversation, never a shared one.
"""

import asyncio
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict

from api.chat_door import (
    COOKIE_NAME,
    ChatDoor,
    RasaUnavailable,
    VoiceUnavailable,
    clean_message,
    for_people,
    new_conversation_id,
    wants_forgetting,
)
from api.deps import context_of
from api.errors import VALIDATION_RESPONSE
from api.logging import get_logger
from api.retention import forget_conversation

router = APIRouter(prefix="/chat", tags=["discussion"], responses=VALIDATION_RESPONSE)
log = get_logger()


class ChatMessage(BaseModel):
    """What the page sends: the text typed, or a button's payload."""

    model_config = ConfigDict(extra="forbid")
    # Longer messages get a polite answer (GUICHET_CHAT_MAX_MESSAGE_CHARS), not a 422; the
    # request body itself is capped by GUICHET_MAX_BODY_BYTES before anything reads it.
    message: str


class ReadAloud(BaseModel):
    """What the page sends to hear an answer: its text, and whether to read it slowly."""

    model_config = ConfigDict(extra="forbid")
    text: str
    slow: bool = False


class DoorNotice(BaseModel):
    """Why the door did not read the text aloud, in French (the shape of the API's errors)."""

    detail: str


# What the door says about reading aloud: responses of assistant/domain/porte.yml, like the
# door's other answers.
TTS_NO_CONVERSATION = "utter_door_tts_no_conversation"
TTS_TOO_LONG = "utter_door_tts_too_long"
TTS_EMPTY = "utter_door_tts_empty"
TTS_TOO_FAST = "utter_door_tts_too_fast"
TTS_UNAVAILABLE = "utter_door_tts_unavailable"

TTS_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {
        "content": {"audio/wav": {"schema": {"type": "string", "format": "binary"}}},
        "description": "Le texte lu par la voix française du serveur (WAV, 16 kHz, mono).",
    },
    400: {"model": DoorNotice, "description": "Rien à lire (texte vide)."},
    403: {"model": DoorNotice, "description": "Pas de conversation en cours (cookie absent)."},
    413: {"model": DoorNotice, "description": "Texte trop long pour être lu."},
    429: {
        "model": DoorNotice,
        "description": "Trop de lectures en peu de temps.",
        "headers": {
            "Retry-After": {
                "description": "Secondes à attendre avant de réessayer.",
                "schema": {"type": "integer"},
            }
        },
    },
    503: {"model": DoorNotice, "description": "La voix du serveur ne répond pas."},
}


class ChatButton(BaseModel):
    """A choice offered: show the title, send the payload back when it is chosen."""

    title: str
    payload: str


class ChatAnswer(BaseModel):
    """One message of the assistant, as the page shows it."""

    text: str | None = None
    buttons: list[ChatButton] | None = None


ANSWERS_RESPONSES: dict[int | str, dict[str, Any]] = {
    429: {
        "model": list[ChatAnswer],
        "description": "Trop de messages en peu de temps : la réponse dit d'attendre.",
        "headers": {
            "Retry-After": {
                "description": "Secondes à attendre avant de réessayer.",
                "schema": {"type": "integer"},
            }
        },
    },
    503: {
        "model": list[ChatAnswer],
        "description": "L'assistant ne répond pas : la réponse dit quoi faire.",
    },
}


async def current_door(request: Request) -> ChatDoor:
    door = context_of(request).chat_door
    assert door is not None, "the chat door is built when the app starts (its lifespan)"
    return door


DoorDep = Annotated[ChatDoor, Depends(current_door)]


def _edge_address(request: Request) -> str:
    # Behind a reverse proxy, uvicorn's --forwarded-allow-ips makes this the person's address.
    return request.client.host if request.client else "inconnu"


def _reply(
    door: ChatDoor,
    conversation: str,
    messages: list[dict[str, Any]],
    status_code: int = 200,
    headers: dict[str, str] | None = None,
    *,
    started: bool,
) -> JSONResponse:
    """The answers; the cookie only for a conversation this request started. A late answer
    of an older conversation must never put that conversation back into the browser."""
    response = JSONResponse(messages, status_code=status_code, headers=headers)
    if started:
        _keep_conversation(response, door, conversation)
    return response


def _keep_conversation(response: Response, door: ChatDoor, conversation: str) -> None:
    """The browser keeps the signed id for this session only; scripts on the page never see it."""
    response.set_cookie(
        COOKIE_NAME,
        door.cookie.sign(conversation),
        httponly=True,
        samesite="strict",
        secure=door.settings.env != "development",
        path="/chat",
    )


@router.get(
    "/welcome",
    response_model=list[ChatAnswer],
    response_model_exclude_none=True,
    description=(
        "Le message d'accueil que la page affiche avant le premier message : qui répond, "
        "les choix possibles et le téléphone. Il vient du domaine de l'assistant ; le lire "
        "ne commence pas de conversation."
    ),
)
async def welcome(door: DoorDep) -> list[dict[str, Any]]:
    # From the domain, without Rasa: the page shows the phone number even when Rasa is down,
    # and a visit that never writes leaves no conversation behind.
    return door.messages.welcome()


@router.post(
    "/messages",
    response_model=list[ChatAnswer],
    responses=ANSWERS_RESPONSES,
    description=(
        "Envoie un message à l'assistant et renvoie ses réponses (textes et boutons). La "
        "conversation est tenue par un cookie signé que le serveur pose lui-même."
    ),
)
async def post_message(body: ChatMessage, request: Request, door: DoorDep) -> Response:
    known = door.cookie.read(request.cookies.get(COOKIE_NAME))
    conversation = known or new_conversation_id()
    started = known is None
    asker = door.asker(_edge_address(request))
    refusal = await door.limits.check(conversation, asker)
    if refusal is not None:
        return _reply(
            door,
            conversation,
            door.messages.answer("utter_door_too_fast"),
            status_code=429,
            headers={"Retry-After": str(refusal.retry_after)},
            started=started,
        )
    text = clean_message(body.message, door.messages.payloads)
    if not text:
        answer = door.messages.answer("utter_door_message_empty")
        return _reply(door, conversation, answer, started=started)
    if len(text) > door.settings.chat_max_message_chars:
        answer = door.messages.answer("utter_door_message_too_long")
        return _reply(door, conversation, answer, started=started)
    async with door.holding(conversation):
        try:
            answers = await door.forward(conversation, text, asker)
        except RasaUnavailable as error:
            log.error("chat door: Rasa unavailable (%s)", error)
            answer = door.messages.answer("utter_door_unavailable")
            return _reply(door, conversation, answer, status_code=503, started=started)
        if wants_forgetting(answers):
            # Rasa saved the conversation before answering: erase it now, then start afresh.
            await asyncio.to_thread(forget_conversation, door.settings, conversation)
            conversation, started = new_conversation_id(), True
    return _reply(door, conversation, for_people(answers), started=started)


@router.post(
    "/new",
    status_code=204,
    description=(
        "Efface la conversation en cours et en commence une nouvelle (borne : le visiteur "
        "suivant ne voit rien du précédent)."
    ),
)
async def new_conversation(request: Request, door: DoorDep) -> Response:
    previous = door.cookie.read(request.cookies.get(COOKIE_NAME))
    if previous is not None:
        async with door.holding(previous):  # after the answer under way, if any
            await asyncio.to_thread(forget_conversation, door.settings, previous)
    response = Response(status_code=204)
    _keep_conversation(response, door, new_conversation_id())
    return response


@router.post(
    "/tts",
    response_class=Response,
    responses=TTS_RESPONSES,
    description=(
        "Lit à voix haute un texte de la conversation (une réponse de l'assistant) avec la "
        "voix française du serveur et renvoie le son (audio/wav). Seulement pour une "
        "conversation en cours (cookie signé) ; le nombre de lectures est limité."
    ),
)
async def read_aloud(body: ReadAloud, request: Request, door: DoorDep) -> Response:
    def refused(name: str, status: int, **headers: str) -> JSONResponse:
        return JSONResponse(
            {"detail": door.messages.texts[name]}, status_code=status, headers=headers or None
        )

    conversation = door.cookie.read(request.cookies.get(COOKIE_NAME))
    if conversation is None:
        return refused(TTS_NO_CONVERSATION, 403)
    text = clean_message(body.text, set()).lstrip("/ ")
    if not text:
        return refused(TTS_EMPTY, 400)
    if len(text) > door.settings.chat_tts_max_chars:
        return refused(TTS_TOO_LONG, 413)
    refusal = await door.limits.check(conversation, door.asker(_edge_address(request)), "tts:")
    if refusal is not None:
        return refused(TTS_TOO_FAST, 429, **{"Retry-After": str(refusal.retry_after)})
    try:
        audio = await door.speak(text, body.slow)
    except VoiceUnavailable as error:
        log.error("chat door: voice gateway unavailable (%s)", error)
        return refused(TTS_UNAVAILABLE, 503)
    return Response(audio, media_type="audio/wav", headers={"Cache-Control": "no-store"})
