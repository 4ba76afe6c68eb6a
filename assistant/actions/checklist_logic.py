"""The check before sending, without Rasa: which questions, and what the answers mean.

"je ne sais pas" is never counted as ready: it goes to the list of things to check. A document
asked only in some cases is asked only once its conditions hold: each condition is one plain
question, asked once, before the first document that depends on it; a "non" leaves the
documents out; "je ne sais pas" asks them anyway, so that nothing is skipped by doubt.
"""

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from assistant.actions.naming import comparable
from guichet.catalogue import Condition, Procedure
from guichet.responses import (
    DONT_KNOW,
    NO,
    NOT_CONCERNED,
    YES,
    condition_slot,
    piece_slot,
)


def _condition_answer(
    condition: str, answers: Mapping[str, Any], conditions: Mapping[str, Condition]
) -> tuple[str | None, str | None]:
    """(the slot to ask, or None when nothing is asked; the answer known so far)."""
    found = conditions.get(condition)
    if found is not None and found.document is not None:
        return None, answers.get(piece_slot(found.document))
    slot = condition_slot(condition)
    return slot, answers.get(slot)


def question_slots(
    procedure: Procedure,
    answers: Mapping[str, Any] | None = None,
    conditions: Mapping[str, Condition] | None = None,
) -> list[str]:
    """The slots to fill, in the order a person gathers the documents, given the answers so far.

    A condition's question comes just before the first document that depends on it; a document
    whose condition was answered the other way is left out.
    """
    answers = answers or {}
    conditions = conditions or {}
    slots: list[str] = []
    for document in procedure.documents:
        applies = True
        for condition, needed in procedure.requires.get(document, ()):
            slot, answer = _condition_answer(condition, answers, conditions)
            if slot is not None and slot not in slots:
                slots.append(slot)
            if answer is None:
                applies = False  # asked first; the document comes once it is answered
                break
            said_yes = answer == YES
            if answer in (NO, NOT_CONCERNED, YES) and said_yes != needed:
                applies = False
                break
        if applies:
            slots.append(piece_slot(document))
    return slots


def applicable_documents(
    procedure: Procedure, answers: Mapping[str, Any], conditions: Mapping[str, Condition]
) -> list[str]:
    """The documents of `procedure` that apply, given the conditions answered so far: one whose
    condition is not answered yet applies (never left out by silence)."""

    def applies(document: str) -> bool:
        for condition, needed in procedure.requires.get(document, ()):
            answer = _condition_answer(condition, answers, conditions)[1]
            if answer in (NO, NOT_CONCERNED, YES) and (answer == YES) != needed:
                return False
        return True

    return [d for d in procedure.documents if applies(d)]


def known_conditions(
    procedure: Procedure, text: str, conditions: Mapping[str, Condition]
) -> dict[str, str]:
    """The conditions the message that started the check already answers, by slot.

    "j'ai perdu ma carte grise": the carte grise is not damaged, so it is not asked for.
    """
    said = comparable(text)

    def says(words: tuple[str, ...]) -> bool:
        return any(
            re.search(rf"(?<!\w){re.escape(comparable(word))}(?!\w)", said) for word in words
        )

    known = {}
    for condition in procedure.conditions:
        found = conditions.get(condition)
        if found is None or found.document is not None:
            continue
        yes, no = says(found.known_yes), says(found.known_no)
        if yes != no:
            known[condition_slot(condition)] = YES if yes else NO
    return known


def previous_question(
    procedure: Procedure,
    answers: dict[str, str | None],
    current: str | None,
    conditions: Mapping[str, Condition] | None = None,
) -> str | None:
    """The last answered slot before `current` (or the last answered one), for "go back"."""
    slots = question_slots(procedure, answers, conditions)
    stop = slots.index(current) if current in slots else len(slots)
    answered = [slot for slot in slots[:stop] if answers.get(slot) is not None]
    return answered[-1] if answered else None


# How people answer a yes/no question in a sentence: "oui le vendeur me l'a donnée barrée",
# "non je l'ai pas encore", "je crois pas". Doubt first: "je crois pas" is not a "non".
_DOUBT = re.compile(
    r"\b(je ne sais pas|je sais pas|j sais pas|sais pas|jsp|chais pas|je ne sais plus|"
    r"je sais plus|je crois pas|je ne crois pas|j crois pas|je pense pas|je ne pense pas|"
    r"je crois|je pense|peut etre|pas sur|pas sure|aucune idee|je ne me souviens|"
    r"je me souviens plus|je me rappelle plus|je ne suis pas sur|j en sais rien|"
    r"je verifie|a verifier|je dois verifier|probablement|normalement)\b"
)
_NO_START = re.compile(
    r"^(non|nan|nope|no|pas encore|toujours pas|pas du tout|jamais|aucun|aucune)\b"
)
_YES_START = re.compile(
    r"^(oui|ouais|ouai|ouii+|yes|yep|oue|bien sur|evidemment|tout a fait|absolument|exact|"
    r"exactement|c est bon|c est fait|affirmatif)\b"
)
_NO_INSIDE = re.compile(
    r"\b(je l ai pas|je ne l ai pas|je l ai plus|je ne l ai plus|j ai pas|je n ai pas|"
    r"j en ai pas|je n en ai pas|je les ai pas|je ne les ai pas|pas encore|"
    r"il me manque|il manque|pas fait|pas eu|perdu|perdue|egare|egaree|perime|perimee|"
    r"expire|expiree|plus valable)\b"
)
_YES_INSIDE = re.compile(
    r"\b(je l ai|je les ai|j ai (le|la|les|un|une|mon|ma|mes|tout)|c est fait|c est bon)\b"
)


def read_answer(text: str) -> str | None:
    """Yes, no or don't know, read from a sentence; None when it is none of them."""
    said = " ".join(re.sub(r"[^a-z0-9]+", " ", comparable(text)).split())
    if not said:
        return None
    if _DOUBT.search(said):
        return DONT_KNOW
    if _NO_START.search(said):
        return NO
    if _YES_START.search(said):
        # "oui mais il est périmé": not a plain yes, so to be checked.
        return DONT_KNOW if re.search(r"\bmais\b", said) or _NO_INSIDE.search(said) else YES
    if _NO_INSIDE.search(said):
        return NO
    if _YES_INSIDE.search(said):
        return YES
    return None


@dataclass(frozen=True)
class Summary:
    """The answers given for one procedure, and its documents by outcome, in its order."""

    procedure: str
    # (document, answer) in the procedure's order; an unanswered document is "don't know".
    answers: tuple[tuple[str, str], ...]
    ready: list[str]
    missing: list[str]
    to_check: list[str]
    not_concerned: list[str]

    def as_result(self) -> dict[str, list[str]]:
        """The result as the API stores it."""
        return {"prets": self.ready, "manquants": self.missing, "a_verifier": self.to_check}

    def as_request(self) -> dict[str, Any]:
        """The body of POST /v1/checklists."""
        return {
            "demarche": self.procedure,
            "reponses": [{"piece": piece, "reponse": answer} for piece, answer in self.answers],
            "resultat": self.as_result(),
        }


def summarise(
    procedure: Procedure,
    slots: Mapping[str, Any],
    conditions: Mapping[str, Condition] | None = None,
) -> Summary:
    """Sort the documents by answer; an unanswered document is to be checked, never ready; a
    document whose condition does not hold is not concerned."""
    applicable = set(applicable_documents(procedure, slots, conditions or {}))
    groups: dict[str, list[str]] = {YES: [], NO: [], DONT_KNOW: [], NOT_CONCERNED: []}
    answers = []
    for document in procedure.documents:
        answer = slots.get(piece_slot(document))
        if document not in applicable:
            answer = NOT_CONCERNED
        answer = answer if answer in groups else DONT_KNOW
        groups[answer].append(document)
        answers.append((document, answer))
    return Summary(
        procedure=procedure.id,
        answers=tuple(answers),
        ready=groups[YES],
        missing=groups[NO],
        to_check=groups[DONT_KNOW],
        not_concerned=groups[NOT_CONCERNED],
    )
