"""The check before sending, without Rasa: which questions, and what the answers mean.

"je ne sais pas" is never counted as ready: it goes to the list of things to check.
"""

from dataclasses import dataclass

from guichet.catalogue import Procedure

YES, NO, DONT_KNOW, NOT_CONCERNED = "oui", "non", "je_ne_sais_pas", "non_concerne"
ANSWERS = (YES, NO, DONT_KNOW, NOT_CONCERNED)


def piece_slot(document: str) -> str:
    """The slot that holds the answer about `document` (as the generated domain names it)."""
    return f"piece_{document}"


def document_of(slot: str) -> str:
    return slot.removeprefix("piece_")


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
    """Documents by outcome, in the procedure's order."""

    ready: list[str]
    missing: list[str]
    to_check: list[str]
    not_concerned: list[str]

    def as_result(self) -> dict[str, list[str]]:
        """The result as the API stores it."""
        return {"prets": self.ready, "manquants": self.missing, "a_verifier": self.to_check}


def summarise(procedure: Procedure, answers: dict[str, str | None]) -> Summary:
    """Sort the documents by answer; an unanswered document is to be checked, never ready."""
    groups: dict[str, list[str]] = {YES: [], NO: [], DONT_KNOW: [], NOT_CONCERNED: []}
    for document in procedure.documents:
        answer = answers.get(piece_slot(document))
        groups[answer if answer in groups else DONT_KNOW].append(document)
    return Summary(
        ready=groups[YES],
        missing=groups[NO],
        to_check=groups[DONT_KNOW],
        not_concerned=groups[NOT_CONCERNED],
    )
