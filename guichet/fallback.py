"""Which intents the fallback offers when the NLU is unsure: at most two best guesses.

Pure functions, no framework: the action (assistant/actions/fallback.py) uses them to choose
its buttons and scripts/nlu_real.py to count how often the right intent is among them.
"""

from collections.abc import Callable, Iterable

FALLBACK_INTENT = "nlu_fallback"
# A person is always offered by its own button, so it is never one of the guesses.
ALWAYS_OFFERED = frozenset({"ask_human"})
MAX_GUESSES = 2
# A guess below this confidence is noise, not a guess ("merci au revoir" must not become
# "changer l'adresse sur votre carte grise ?").
MIN_CONFIDENCE = 0.1
# The second guess is offered only if it is at least this share of the first one's confidence.
SECOND_RATIO = 0.3


def best_guesses(ranking: Iterable[dict], has_subject: Callable[[str], bool]) -> list[str]:
    """The intents to offer, best first: those the domain can name, likely enough."""
    guesses: list[tuple[str, float]] = []
    for entry in ranking:
        name, confidence = entry.get("name"), float(entry.get("confidence") or 0.0)
        if not name or name == FALLBACK_INTENT or name in ALWAYS_OFFERED:
            continue
        if not has_subject(name) or confidence < MIN_CONFIDENCE:
            continue
        if guesses and confidence < SECOND_RATIO * guesses[0][1]:
            break
        guesses.append((name, confidence))
        if len(guesses) == MAX_GUESSES:
            break
    return [name for name, _ in guesses]
