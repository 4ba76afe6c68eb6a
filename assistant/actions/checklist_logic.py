"""The check before sending, without Rasa: which questions, and what the answers mean.

"je ne sais pas" is never counted as ready: it goes to the list of things to check.
"""

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from guichet.catalogue import Procedure
from guichet.responses import DONT_KNOW, NO, NOT_CONCERNED, YES, piece_slot


def question_slots(procedure: Procedure) -> list[str]:
    """The slots to fill, one per document, in the order a person gathers them."""
    return [piece_slot(document) for document in procedure.documents]


def previous_question(procedure: Procedure, answers: dict[str, str | None], current: str | None):  # type: ignore[no-untyped-def]
    """The last answered slot before `current` (or the last answered one), for "go back"."""
    slots = question_slots(procedure)
    stop = slots.index(current) if current in slots else len(slots)
    answered = [slot for slot in slots[:stop] if answers.get(slot) is not None]
    return answered[-1] if answered else None


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


def summarise(procedure: Procedure, slots: Mapping[str, Any]) -> Summary:
    """Sort the documents by answer; an unanswered document is to be checked, never ready."""
    groups: dict[str, list[str]] = {YES: [], NO: [], DONT_KNOW: [], NOT_CONCERNED: []}
    answers = []
    for document in procedure.documents:
        answer = slots.get(piece_slot(document))
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
