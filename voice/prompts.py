"""What the gateway says by itself, read once from the Rasa domain (assistant/domain/voix.yml).

Every sentence a caller hears lives in the domain: the assistant's answers come from Rasa, and
the few the gateway says around them (greeting, keypad menus, reprompts) are the `utter_voice_*`
responses, read here when the gateway starts and filled as Rasa fills a slot ({digit}, {title}).
Menus are built from the buttons of the answer itself, never written twice.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from pathlib import Path

import yaml

from voice.stages import BotMessage, Button, Expectation

DOMAIN_DIR = Path(__file__).resolve().parents[1] / "assistant" / "domain"

GREETING = "utter_voice_greeting"
# The greeting's menu: the chat page's welcome choices (assistant/domain/porte.yml).
GREETING_MENU = "utter_door_welcome"
KEYPAD_ONLY = "utter_voice_keypad_only"
MENU_ITEM = "utter_voice_menu_item"
YES_NO = "utter_voice_yes_no"
KEYPAD_DIGITS = "utter_voice_keypad_digits"
KEYPAD_DATE = "utter_voice_keypad_date"
WRONG_KEY = "utter_voice_wrong_key"
NOT_HEARD = "utter_voice_not_heard"
REPROMPT = "utter_voice_reprompt"
GOODBYE = "utter_voice_goodbye"
UNREACHABLE = "utter_voice_unreachable"
NAMES = (
    GREETING,
    KEYPAD_ONLY,
    MENU_ITEM,
    YES_NO,
    KEYPAD_DIGITS,
    KEYPAD_DATE,
    WRONG_KEY,
    NOT_HEARD,
    REPROMPT,
    GOODBYE,
    UNREACHABLE,
)

# The payload that reaches a person: always key 0, in every menu and outside them.
HUMAN_PAYLOAD = "/ask_human"
HUMAN_KEY = "0"
YES_NO_KEYS = {"1": "/affirm", "2": "/deny"}
_PLACEHOLDER = re.compile(r"\{(\w+)\}")


class PromptError(RuntimeError):
    """A response the gateway needs is missing from the domain."""


def _unescaped(payload: str) -> str:
    # Responses escape braces for Rasa's templating: {{ is a literal {.
    return payload.replace("{{", "{").replace("}}", "}")


def spoken_title(title: str) -> str:
    """A button's title inside a sentence: "Où en est mon dossier ?" → "où en est mon dossier"."""
    title = title.strip().rstrip(" ?!.:;")
    if len(title) > 1 and title[0].isupper() and not title[1].isupper():
        title = title[0].lower() + title[1:]
    return title


def keypad_menu(buttons: Sequence[Button]) -> dict[str, Button]:
    """Key → button: the person's button on 0, the others on 1, 2… in their order."""
    menu: dict[str, Button] = {}
    number = 1
    for button in buttons:
        if button.payload == HUMAN_PAYLOAD:
            menu.setdefault(HUMAN_KEY, button)
        elif number <= 9:
            menu[str(number)] = button
            number += 1
    return menu


class VoicePrompts:
    """The gateway's own sentences, from the domain's text variations."""

    def __init__(self, texts: dict[str, str], buttons: dict[str, tuple[Button, ...]]) -> None:
        missing = [name for name in (*NAMES, GREETING_MENU) if name not in texts]
        if missing:
            raise PromptError(
                f"responses missing from the domain (assistant/domain/voix.yml): {missing}"
            )
        self._texts = texts
        self._buttons = buttons

    @classmethod
    def load(cls, domain_dir: Path = DOMAIN_DIR) -> VoicePrompts:
        texts: dict[str, str] = {}
        buttons: dict[str, tuple[Button, ...]] = {}
        for path in sorted(domain_dir.glob("*.yml")):
            if path.name.endswith("_generated.yml"):
                continue  # the check before sending: nothing the gateway says by itself
            domain = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
            for name, variations in (domain.get("responses") or {}).items():
                if name not in (*NAMES, GREETING_MENU):
                    continue
                # The text variation without condition: the voice ones have no buttons.
                for variation in variations:
                    if "channel" in variation or "condition" in variation:
                        continue
                    texts.setdefault(name, variation["text"])
                    buttons.setdefault(
                        name,
                        tuple(
                            Button(title=b["title"], payload=_unescaped(b["payload"]))
                            for b in variation.get("buttons") or []
                        ),
                    )
        return cls(texts, buttons)

    def text(self, name: str, **values: object) -> str:
        """The response `name`, its {placeholders} filled from `values`."""

        def fill(match: re.Match[str]) -> str:
            if match[1] not in values:
                raise PromptError(f"{name} needs a value for {{{match[1]}}}")
            return str(values[match[1]])

        return _PLACEHOLDER.sub(fill, self._texts[name])

    def greeting(self, *, keypad_only: bool) -> list[BotMessage]:
        """What the caller hears first; its menu is the chat page's welcome choices."""
        texts = [self.text(GREETING)] + ([self.text(KEYPAD_ONLY)] if keypad_only else [])
        menu = BotMessage(texts[-1], self._buttons[GREETING_MENU], Expectation.MENU)
        return [BotMessage(text) for text in texts[:-1]] + [menu]

    def menu_lines(self, buttons: Sequence[Button]) -> list[str]:
        """One sentence per key of the menu: "Pour suivre mon dossier, tapez 1."."""
        menu = keypad_menu(buttons)
        # The person last, as the greeting ends: "pour parler à une personne, tapez 0".
        keys = sorted(menu, key=lambda key: key == HUMAN_KEY)
        return [
            self.text(MENU_ITEM, digit=key, title=spoken_title(menu[key].title)) for key in keys
        ]

    def hint(self, expectation: Expectation, buttons: Sequence[Button]) -> list[str]:
        """What to say after an answer, for the keypad."""
        if expectation is Expectation.YES_NO:
            return [self.text(YES_NO)]
        if expectation is Expectation.MENU and buttons:
            return self.menu_lines(buttons)
        if expectation is Expectation.DIGITS:
            return [self.text(KEYPAD_DIGITS)]
        if expectation is Expectation.DATE:
            return [self.text(KEYPAD_DATE)]
        return []

    def fixed_texts(self, menus: Iterable[Sequence[Button]] = ()) -> list[str]:
        """Every sentence known before any call, to synthesize when the gateway starts."""
        fixed = [
            self.text(name)
            for name in NAMES
            if name not in (MENU_ITEM,) and not _PLACEHOLDER.search(self._texts[name])
        ]
        fixed += self.menu_lines(self._buttons[GREETING_MENU])
        for buttons in menus:
            fixed += self.menu_lines(buttons)
        return list(dict.fromkeys(fixed))


def said_later(prompts: VoicePrompts, domain_dir: Path = DOMAIN_DIR) -> list[str]:
    """The assistant's questions as a caller hears them (the voice variation where there is
    one) and the keypad menus of every answer with buttons: fixed texts, synthesized in the
    background once the gateway is up, so that most answers start playing at once."""
    questions: list[str] = []
    menus: list[tuple[Button, ...]] = []
    for path in sorted(domain_dir.glob("*.yml")):
        domain = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        for name, variations in (domain.get("responses") or {}).items():
            voice = [v for v in variations if v.get("channel") == "voice"]
            text = [v for v in variations if "channel" not in v]
            if name.startswith("utter_ask_"):
                questions += [v["text"] for v in voice or text if "{" not in v["text"]]
            for variation in text:
                buttons = tuple(
                    Button(b["title"], _unescaped(b["payload"]))
                    for b in variation.get("buttons") or []
                )
                if buttons and not any("{" in b.title for b in buttons):
                    menus.append(buttons)
    lines = [line for buttons in menus for line in prompts.menu_lines(buttons)]
    return list(dict.fromkeys([*questions, *lines]))
