"""The procedure facts of reference/procedures.yaml, read once, when first needed."""

import os
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import yaml

DEFAULT_PATH = Path(__file__).resolve().parents[2] / "reference" / "procedures.yaml"


@dataclass(frozen=True)
class Procedure:
    """What the check before sending needs to know about one procedure."""

    id: str
    domain: str
    documents: tuple[str, ...]


@dataclass(frozen=True)
class Catalogue:
    """All procedures, and which ones each intent may mean."""

    procedures: dict[str, Procedure]
    intentions: dict[str, tuple[str, ...]]
    circonstances: dict[str, str]
    # How people name each document ("preuve d'adresse") and procedure ("duplicata"), to
    # answer about the one they ask about.
    document_names: dict[str, tuple[str, ...]]
    procedure_names: dict[str, tuple[str, ...]]

    def in_domain(self, domain: str) -> list[str]:
        return [p.id for p in self.procedures.values() if p.domain == domain]


def load_catalogue(path: Path) -> Catalogue:
    """Parse the data file into the few fields the actions use."""
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    procedures = {
        entry["id"]: Procedure(
            id=entry["id"],
            domain=entry["domain"],
            documents=tuple(doc["document"] for doc in entry["documents"]),
        )
        for entry in data["procedures"]
    }
    intentions = {intent: tuple(ids) for intent, ids in data["intentions"].items()}
    return Catalogue(
        procedures=procedures,
        intentions=intentions,
        circonstances=dict(data.get("circonstances") or {}),
        document_names={
            document: tuple(info.get("names") or ()) for document, info in data["documents"].items()
        },
        procedure_names={
            entry["id"]: tuple(entry.get("names") or ()) for entry in data["procedures"]
        },
    )


@lru_cache
def get_catalogue() -> Catalogue:
    """The catalogue of GUICHET_PROCEDURES_PATH, or of the repository's data file."""
    return load_catalogue(Path(os.environ.get("GUICHET_PROCEDURES_PATH", DEFAULT_PATH)))
