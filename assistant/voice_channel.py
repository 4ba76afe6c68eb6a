"""The input channel of Guichet's voice gateway (voice/, phone line and kiosk microphone).

Only the gateway talks to it, on loopback, with GUICHET_VOICE_TOKEN. One conversation per
call: the sender id is the call id the gateway draws at random. Three things differ from the
chat channel (assistant/channels.py), whose token check and logging it shares:

- its output channel is named `voice`, so Rasa picks the domain's `channel: voice` variations
  (Rasa chooses a variation by the *output* channel's name, rasa/core/nlg/generator.py);
- a voice variation has no buttons (it says "dites oui ou non"), but a caller can use the
  keypad: the buttons of the response's text variation are given back with it, so a keypad
  menu is built from the same buttons as the chat page's;
- the answer says what the assistant waits for next (`Expectation` of voice/stages.py), read
  from the form's requested slot or from the buttons: one mapping, `expectation_of`.

The tracker's metadata holds the door ("phone" or "kiosk"), the caller's number masked (a
value with more than four digits is dropped, never stored) and an opaque keyed hash of the
caller for the dossier API's attempt limits.
"""

import json
import logging
import re
import traceback
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from rasa.core.channels.channel import CollectingOutputChannel, UserMessage
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from assistant.channels import ChatDoorInput, as_typed_choice
from voice.stages import Expectation

logger = logging.getLogger(__name__)

# What the gateway may tell Rasa about a message.
ALLOWED_METADATA = ("door", "caller", "asker")
DOORS = ("phone", "kiosk")
# A masked number keeps at most its last two digits and a prefix: "06 •• •• •• 78".
MAX_CALLER_DIGITS = 4

# What the assistant waits for while a form asks one of these slots. Slots not named here
# are read from the buttons of the question (yes/no, or a menu).
EXPECTATION_BY_SLOT = {
    "numero_dossier": Expectation.DIGITS,
    "date_naissance": Expectation.DATE,
    "date_naissance_confirmee": Expectation.YES_NO,
}
YES_NO_PAYLOADS = frozenset({"/affirm", "/deny"})
# A number keyed when no form asks for one is a request number: the status check starts
# with it (its slot mapping takes the entity), as when someone says "mon dossier 2611000002".
KEYED_NUMBER = re.compile(r"\d{6,20}")
STATUS_CHECK = "/check_status"
NUMBER_ENTITY = "numero_dossier"
SLOW_SLOT = "slow_speech"
FORGET_MARKER = "guichet"  # as in assistant/actions/privacy.py and api/chat_door.py


def expectation_of(requested_slot: str | None, buttons: Sequence[dict[str, Any]]) -> Expectation:
    """What the caller is expected to give next, for the recogniser and the keypad."""
    if requested_slot in EXPECTATION_BY_SLOT:
        return EXPECTATION_BY_SLOT[requested_slot]
    if {str(button.get("payload", "")) for button in buttons} == YES_NO_PAYLOADS:
        return Expectation.YES_NO
    return Expectation.MENU if buttons else Expectation.FREE


def keyed_message(text: str, requested_slot: str | None) -> str:
    """What a keypad entry means: digits answer the form's question; a number keyed when
    no number or date is asked starts the status check with it."""
    if requested_slot in EXPECTATION_BY_SLOT or not KEYED_NUMBER.fullmatch(text):
        return text
    return f"{STATUS_CHECK}{json.dumps({NUMBER_ENTITY: text})}"


def masked_caller(value: Any) -> str | None:
    """The caller's masked number, or None for anything that could be a whole number."""
    if not isinstance(value, str) or not value:
        return None
    if sum(char.isdigit() for char in value) > MAX_CALLER_DIGITS or len(value) > 40:
        logger.warning("voice channel: a caller value that is not masked was dropped")
        return None
    return value


def allowed_metadata(metadata: Any) -> dict[str, str]:
    """Only what the gateway may set, checked."""
    if not isinstance(metadata, dict):
        return {}
    kept: dict[str, str] = {}
    if metadata.get("door") in DOORS:
        kept["door"] = metadata["door"]
    caller = masked_caller(metadata.get("caller"))
    if caller:
        kept["caller"] = caller
    asker = metadata.get("asker")
    if isinstance(asker, str) and re.fullmatch(r"[0-9a-f]{16,64}", asker):
        kept["asker"] = asker
    return kept


class VoiceOutput(CollectingOutputChannel):
    """Collects the answers; named `voice` so that the voice variations are chosen."""

    @classmethod
    def name(cls) -> str:
        return "voice"

    async def send_response(self, recipient_id: str, message: dict[str, Any]) -> None:
        """Keep the whole message: its response's name and values give the keypad buttons."""
        self.messages.append({**message, "recipient_id": recipient_id})


# Keys of a message that are not values given to its response's template.
_MESSAGE_KEYS = frozenset(
    {
        "recipient_id",
        "text",
        "buttons",
        "elements",
        "quick_replies",
        "attachment",
        "image",
        "custom",
        "timestamp",
        "utter_action",
        "response_ids",
        "template_name",
        "id",
    }
)
# Any output channel but `voice`: the variation the chat page would show.
TEXT_CHANNEL = "collector"


async def keypad_buttons(agent: Any, tracker: Any, message: dict[str, Any]) -> list[dict]:
    """The buttons of the message, or those of its response's text variation when the voice
    variation has none, filled with the same values by Rasa's own generator."""
    if message.get("buttons"):
        return list(message["buttons"])
    name = message.get("utter_action")
    nlg = getattr(agent, "nlg", None)
    if not isinstance(name, str) or nlg is None or tracker is None:
        return []
    values = {k: v for k, v in message.items() if k not in _MESSAGE_KEYS}
    try:
        text_variation = await nlg.generate(name, tracker, TEXT_CHANNEL, **values)
    except Exception as error:  # a template value missing: no menu rather than no answer
        logger.warning("voice channel: no buttons for %s (%s)", name, type(error).__name__)
        return []
    return list((text_variation or {}).get("buttons") or [])


_PAYLOADS: dict[int, tuple[Any, frozenset[str]]] = {}


def allowed_payloads(domain: Any) -> frozenset[str]:
    """The payloads of the domain's buttons: the only commands the gateway may send."""
    known = _PAYLOADS.get(id(domain))
    if known is None or known[0] is not domain:
        known = (domain, _payloads_of(domain))
        _PAYLOADS[id(domain)] = known
    return known[1]


def _payloads_of(domain: Any) -> frozenset[str]:
    payloads: set[str] = set()
    templated = False
    for variations in domain.responses.values():
        for variation in variations:
            for button in variation.get("buttons") or []:
                payload = str(button.get("payload", ""))
                if payload.startswith("/{"):
                    templated = True
                    continue
                payloads.add(payload.replace("{{", "{").replace("}}", "}"))
    if templated:
        payloads.update(f"/{intent}" for intent in domain.intents)
    return frozenset(payloads)


class VoiceInput(ChatDoorInput):
    """POST /webhooks/voice/webhook {"sender", "message", "metadata", "keyed"} with the token.

    Answers {"messages": [{"text", "buttons"}], "expects": "free"|"yes_no"|"digits"|…, "slow",
    "forget"}: what comes next, whether the caller asked for a slower voice, and whether they
    asked to erase the conversation.
    """

    TOKEN_ENV = "GUICHET_VOICE_TOKEN"

    @classmethod
    def name(cls) -> str:
        return "voice"

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        webhook = Blueprint("guichet_voice", __name__)

        @webhook.route("/", methods=["GET"])
        async def health(_request: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        @webhook.route("/webhook", methods=["POST"])
        async def receive(request: Request) -> HTTPResponse:
            if not self.authorised(request):
                return response.json({"error": "unauthorised"}, status=401)
            body = request.json if isinstance(request.json, dict) else {}
            agent = getattr(request.app.ctx, "agent", None)
            answer, status = await self.handle(agent, body, on_new_message)
            return response.json(answer, status=status)

        return webhook

    async def handle(
        self,
        agent: Any,
        body: dict[str, Any],
        on_new_message: Callable[[UserMessage], Awaitable[Any]],
    ) -> tuple[dict[str, Any], int]:
        """One message of a call: its answers and what comes next, or an error and its status."""
        sender, text = body.get("sender"), body.get("message")
        if not isinstance(sender, str) or not sender or not isinstance(text, str):
            return {"error": "sender and message are required"}, 400
        store = getattr(agent, "tracker_store", None)
        collector = VoiceOutput()
        try:
            text = await self._meant(agent, store, sender, text, body.get("keyed") is True)
            await on_new_message(
                UserMessage(
                    text,
                    collector,
                    sender,
                    input_channel=self.name(),
                    metadata=allowed_metadata(body.get("metadata")),
                )
            )
            return await self._answer(agent, store, sender, collector), 200
        except Exception as error:
            # The frames say where it failed; the exception's message may quote the caller.
            logger.error(
                "voice message failed: %s (%d characters)\n%s",
                type(error).__name__,
                len(text),
                "".join(traceback.format_tb(error.__traceback__)),
            )
            return {"error": "message failed"}, 500

    @staticmethod
    async def _meant(agent: Any, store: Any, sender: str, text: str, keyed: bool) -> str:
        """The message as Rasa should read it."""
        if text.startswith("/"):
            # Only a button's payload: a forged "/restart" or slot becomes words.
            domain = getattr(agent, "domain", None)
            if domain is None or text not in allowed_payloads(domain):
                return text.lstrip("/ ")
            return text
        if keyed:
            tracker = await store.retrieve(sender) if store is not None else None
            return keyed_message(text, _requested_slot(tracker))
        return await as_typed_choice(store, sender, text)

    @staticmethod
    async def _answer(
        agent: Any, store: Any, sender: str, collector: CollectingOutputChannel
    ) -> dict[str, Any]:
        tracker = await store.retrieve(sender) if store is not None else None
        messages: list[dict[str, Any]] = []
        for message in collector.messages:
            if not isinstance(message.get("text"), str) or not message["text"]:
                continue  # markers for the chat door (custom), images: nothing to say
            buttons = await keypad_buttons(agent, tracker, message)
            messages.append(
                {
                    "text": message["text"],
                    "buttons": [
                        {"title": str(b.get("title", "")), "payload": str(b.get("payload", ""))}
                        for b in buttons
                        if isinstance(b, dict)
                    ],
                }
            )
        last_buttons = messages[-1]["buttons"] if messages else []
        expects = expectation_of(_requested_slot(tracker), last_buttons)
        # "Plus lentement" sets this slot (assistant/domain/accessibilite.yml).
        slow = tracker is not None and tracker.get_slot(SLOW_SLOT) is True
        # "Effacez ma conversation": the gateway deletes it, as the chat door does.
        forget = any(_forgets(message) for message in collector.messages)
        return {"messages": messages, "expects": expects.value, "slow": slow, "forget": forget}


def _forgets(message: dict[str, Any]) -> bool:
    """The marker of assistant/actions/privacy.py: the caller asked to erase the conversation."""
    custom = message.get("custom")
    marker = custom.get(FORGET_MARKER) if isinstance(custom, dict) else None
    return isinstance(marker, dict) and marker.get("forget") is True


def _requested_slot(tracker: Any) -> str | None:
    """The slot the active form asks for, if any."""
    if tracker is None or not tracker.active_loop_name:
        return None
    slot = tracker.get_slot("requested_slot")
    return slot if isinstance(slot, str) else None
