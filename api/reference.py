"""Reference data for the API, from the catalogue (reference/procedures.yaml): French labels
and the usual days in each status."""

from dataclasses import dataclass
from pathlib import Path

from guichet.catalogue import load_catalogue


@dataclass(frozen=True)
class Reference:
    """Labels keyed by the ids the API returns, and the usual days spent in each status."""

    statuts: dict[str, str]
    pieces: dict[str, str]
    demarches: dict[str, str]
    delais_normaux_jours: dict[str, int]


def load_reference(catalogue_path: Path, delay_overrides: dict[str, int]) -> Reference:
    """Read labels and usual delays from the catalogue; `delay_overrides` wins over it."""
    catalogue = load_catalogue(catalogue_path)
    delays = {s.id: s.usual_days for s in catalogue.statuses.values() if s.usual_days is not None}
    return Reference(
        statuts={s.id: s.label for s in catalogue.statuses.values()},
        pieces={d.id: d.label for d in catalogue.documents.values()},
        demarches={p.id: p.label for p in catalogue.procedures.values()},
        delais_normaux_jours={**delays, **delay_overrides},
    )
