"""Reference data read once from the project's files: French labels and normal delays."""

from dataclasses import dataclass
from pathlib import Path

import yaml


@dataclass(frozen=True)
class Reference:
    """Labels keyed by the ids the API returns, and the usual days spent in each status."""

    statuts: dict[str, str]
    pieces: dict[str, str]
    demarches: dict[str, str]
    delais_normaux_jours: dict[str, int]


def load_reference(
    fixture_path: Path, demarches_path: Path, delay_overrides: dict[str, int]
) -> Reference:
    """Read labels and delays from the fixture, procedure names from the reference file."""
    fixture = yaml.safe_load(fixture_path.read_text(encoding="utf-8"))
    demarches = yaml.safe_load(demarches_path.read_text(encoding="utf-8"))
    return Reference(
        statuts=fixture["statuts"],
        pieces=fixture["pieces"],
        demarches=demarches,
        delais_normaux_jours={**fixture["delais_normaux_jours"], **delay_overrides},
    )
