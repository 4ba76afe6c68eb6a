"""Read a typed answer to a list of buttons as the button it names.

After a message with buttons, people type "le premier", "2", the label ("oui"), or a word of
it ("renouvellement" for "Renouveler mon permis"). `chosen_button` says which button that
is, or None when the text is not plainly a choice (then the NLU reads it as any message).
Pure functions over the buttons' titles: the chat channel (assistant/channels.py) reads the
buttons of the assistant's last message and sends the chosen button's payload, exactly as a
click would.
"""

import re
from collections.abc import Sequence
from typing import Any

from guichet.identifiers import fold

# A choice is short: longer messages say something else and go to the NLU.
MAX_CHOICE_WORDS = 5
# Words of at least this many letters match a label's word when they share this beginning
# ("renouvellement" and "renouveler").
STEM_LETTERS = 6

_ORDINALS = {
    "premier": 1,
    "premiere": 1,
    "1er": 1,
    "1ere": 1,
    "un": 1,
    "deuxieme": 2,
    "second": 2,
    "seconde": 2,
    "2e": 2,
    "2eme": 2,
    "deux": 2,
    "troisieme": 3,
    "3e": 3,
    "3eme": 3,
    "trois": 3,
    "quatrieme": 4,
    "4e": 4,
    "4eme": 4,
    "quatre": 4,
    "cinquieme": 5,
    "5e": 5,
    "5eme": 5,
    "cinq": 5,
}
_LAST = {"dernier", "derniere"}
# Words that say nothing of which button: articles, "je veux", "choix", politeness, and
# the negation ("pas encore" must not pick "Je ne sais pas").
_FILLER = {
    "ne",
    "pas",
    "le",
    "la",
    "l",
    "les",
    "de",
    "du",
    "des",
    "d",
    "mon",
    "ma",
    "mes",
    "je",
    "j",
    "veux",
    "voudrais",
    "prends",
    "choisis",
    "choix",
    "numero",
    "n",
    "no",
    "bouton",
    "reponse",
    "svp",
    "stp",
    "plait",
    "s",
    "il",
    "vous",
    "merci",
    "c",
    "est",
    "ca",
    "celui",
    "celle",
    "ci",
    "a",
    "au",
    "et",
    "un",
    "une",
    "pour",
}
_WORD = re.compile(r"[a-z0-9]+")


def _words(text: str) -> list[str]:
    return _WORD.findall(fold(text).replace("’", "'"))


def _ordinal(words: list[str], count: int) -> int | None:
    """The 1-based position named by an ordinal answer ("le deuxième", "2", "numéro 3")."""
    content = [word for word in words if word not in _FILLER or word == "un"]
    if len(content) != 1:
        return None
    word = content[0]
    if word in _LAST:
        return count
    position = int(word) if word.isdigit() else _ORDINALS.get(word)
    return position if position is not None and 1 <= position <= count else None


def _shares_a_word(word: str, label_words: set[str]) -> bool:
    if word in label_words:
        return True
    if len(word) < STEM_LETTERS:
        return False
    return any(
        len(other) >= STEM_LETTERS and other[:STEM_LETTERS] == word[:STEM_LETTERS]
        for other in label_words
    )


def chosen_button(text: str, buttons: Sequence[dict[str, Any]]) -> dict[str, Any] | None:
    """The button `text` chooses among `buttons`, or None when it does not plainly choose one."""
    titles = [str(button.get("title") or "") for button in buttons]
    if not buttons or not text or len(text) > 80:
        return None
    words = _words(text)
    if not words or len(words) > MAX_CHOICE_WORDS:
        return None
    said = " ".join(words)
    exact = [i for i, title in enumerate(titles) if " ".join(_words(title)) == said]
    if len(exact) == 1:
        return buttons[exact[0]]
    position = _ordinal(words, len(buttons))
    if position is not None:
        return buttons[position - 1]
    if any(char.isdigit() for char in said):
        # A number that is not a position (a request number, a date) is an answer.
        return None
    content = [word for word in words if word not in _FILLER]
    if not content:
        return None
    scores = [
        sum(_shares_a_word(word, set(_words(title)) - _FILLER) for word in content)
        for title in titles
    ]
    best = max(scores)
    if best == 0 or scores.count(best) > 1:
        return None
    return buttons[scores.index(best)]


def buttons_of_last_answer(events: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """The buttons of the assistant's messages since the person's last message, in order."""
    buttons: list[dict[str, Any]] = []
    for event in reversed(events):
        kind = event.get("event")
        if kind == "user":
            break
        if kind == "bot":
            found = (event.get("data") or {}).get("buttons") or []
            buttons[:0] = [b for b in found if isinstance(b, dict) and b.get("payload")]
    return buttons
