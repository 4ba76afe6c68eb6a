"""The reference catalogue (reference/procedures.yaml), read into frozen dataclasses.

One file holds every procedure, document, dossier status and help channel with its French
label, its facts and their status and sources. The API (labels, usual delays), the actions
(which documents to ask) and scripts/generate_domain.py (the domain's wording) all read it
through this module.
"""

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

DEFAULT_PATH = Path(__file__).resolve().parent.parent / "reference" / "procedures.yaml"
PATH_VARIABLE = "GUICHET_CATALOGUE_PATH"


@dataclass(frozen=True)
class Document:
    """A document a procedure asks for."""

    id: str
    label: str
    names: tuple[str, ...]
    status: str
    sources: tuple[str, ...]


@dataclass(frozen=True)
class Procedure:
    """One of the permis or carte grise procedures."""

    id: str
    domain: str
    label: str
    names: tuple[str, ...]
    documents: tuple[str, ...]
    # For a document asked only in some cases: the conditions it depends on, in the order
    # they are asked, each with the answer it needs (True: "oui", False: "non").
    requires: Mapping[str, tuple[tuple[str, bool], ...]] = field(default_factory=dict)

    @property
    def conditions(self) -> tuple[str, ...]:
        """The conditions this procedure's check may ask about, in the order they come."""
        seen: dict[str, None] = {}
        for document in self.documents:
            for condition, _ in self.requires.get(document, ()):
                seen.setdefault(condition)
        return tuple(seen)


@dataclass(frozen=True)
class Condition:
    """When some documents apply ("êtes-vous logé chez quelqu'un ?"): a plain yes/no question
    asked once, or the answer about a `document`. `known_yes` / `known_no`: words that already
    answer it in the message that started the check."""

    id: str
    question: str | None
    document: str | None
    known_yes: tuple[str, ...] = ()
    known_no: tuple[str, ...] = ()


@dataclass(frozen=True)
class Status:
    """A dossier status; `usual_days` is how long a dossier normally stays in it (None: no
    limit), after which it counts as stuck."""

    id: str
    label: str
    usual_days: int | None
    status: str
    sources: tuple[str, ...]


@dataclass(frozen=True)
class HelpChannel:
    """Somewhere a person can get help (a phone line, a place)."""

    id: str
    label: str
    details: str
    status: str
    sources: tuple[str, ...]


@dataclass(frozen=True)
class Catalogue:
    """The whole catalogue; `data` is the parsed file, for the domain generator."""

    documents: Mapping[str, Document]
    procedures: Mapping[str, Procedure]
    statuses: Mapping[str, Status]
    help_channels: Mapping[str, HelpChannel]
    conditions: Mapping[str, "Condition"]
    # Which procedures an intent of the NLU may mean, and which one a circumstance picks.
    intentions: Mapping[str, tuple[str, ...]]
    circonstances: Mapping[str, str]
    data: Mapping[str, Any] = field(repr=False, compare=False)

    @property
    def document_names(self) -> dict[str, tuple[str, ...]]:
        """How people name each document ("preuve d'adresse"), by document id."""
        return {d.id: d.names for d in self.documents.values()}

    @property
    def procedure_names(self) -> dict[str, tuple[str, ...]]:
        """How people name each procedure ("duplicata"), by procedure id."""
        return {p.id: p.names for p in self.procedures.values()}

    def in_domain(self, domain: str) -> list[str]:
        return [p.id for p in self.procedures.values() if p.domain == domain]


def _requires(document: Mapping[str, Any]) -> tuple[tuple[str, bool], ...]:
    return tuple((c, True) for c in document.get("if") or ()) + tuple(
        (c, False) for c in document.get("unless") or ()
    )


def _sources(entry: Mapping[str, Any]) -> tuple[str, ...]:
    return tuple(entry.get("sources") or ())


def parse(data: Mapping[str, Any]) -> Catalogue:
    """Build the catalogue from the parsed file; a reference to an unknown id is an error."""
    documents = {
        key: Document(
            id=key,
            label=info["label"],
            names=tuple(info.get("names") or ()),
            status=info["status"],
            sources=_sources(info),
        )
        for key, info in data["documents"].items()
    }
    procedures = {
        entry["id"]: Procedure(
            id=entry["id"],
            domain=entry["domain"],
            label=entry["label"],
            names=tuple(entry.get("names") or ()),
            documents=tuple(doc["document"] for doc in entry["documents"]),
            requires={
                doc["document"]: _requires(doc)
                for doc in entry["documents"]
                if doc.get("if") or doc.get("unless")
            },
        )
        for entry in data["procedures"]
    }
    conditions = {
        key: Condition(
            id=key,
            question=info.get("question"),
            document=info.get("document"),
            known_yes=tuple((info.get("known_from") or {}).get("oui") or ()),
            known_no=tuple((info.get("known_from") or {}).get("non") or ()),
        )
        for key, info in (data.get("conditions") or {}).items()
    }
    statuses = {
        key: Status(
            id=key,
            label=info["label"],
            usual_days=info.get("usual_days"),
            status=info["status"],
            sources=_sources(info),
        )
        for key, info in data["statuses"].items()
    }
    help_channels = {
        entry["id"]: HelpChannel(
            id=entry["id"],
            label=entry["label"],
            details=entry["details"],
            status=entry["status"],
            sources=_sources(entry),
        )
        for entry in data["help_channels"]
    }
    catalogue = Catalogue(
        documents=documents,
        procedures=procedures,
        statuses=statuses,
        help_channels=help_channels,
        conditions=conditions,
        intentions={intent: tuple(ids) for intent, ids in data["intentions"].items()},
        circonstances=dict(data.get("circonstances") or {}),
        data=data,
    )
    _check_references(catalogue)
    return catalogue


def _check_references(catalogue: Catalogue) -> None:
    unknown = [
        f"procedure {p.id}: document {d}"
        for p in catalogue.procedures.values()
        for d in p.documents
        if d not in catalogue.documents
    ]
    unknown += [
        f"intention {intent}: procedure {pid}"
        for intent, ids in catalogue.intentions.items()
        for pid in ids
        if pid not in catalogue.procedures
    ]
    unknown += [
        f"circonstance {name}: procedure {pid}"
        for name, pid in catalogue.circonstances.items()
        if pid not in catalogue.procedures
    ]
    unknown += [
        f"procedure {p.id}: condition {c}"
        for p in catalogue.procedures.values()
        for c in p.conditions
        if c not in catalogue.conditions
    ]
    unknown += [
        f"condition {c.id}: document {c.document}"
        for c in catalogue.conditions.values()
        if c.document is not None and c.document not in catalogue.documents
    ]
    if unknown:
        raise ValueError("unknown ids in the catalogue: " + "; ".join(unknown))


def load_catalogue(path: Path = DEFAULT_PATH) -> Catalogue:
    """Read and parse the catalogue file at `path`."""
    return parse(yaml.safe_load(Path(path).read_text(encoding="utf-8")))


@lru_cache
def get_catalogue() -> Catalogue:
    """The catalogue of GUICHET_CATALOGUE_PATH, or the repository's, read once per process."""
    return load_catalogue(Path(os.environ.get(PATH_VARIABLE) or DEFAULT_PATH))
