"""Turn a stored dossier into what its owner is told."""

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, and_, false, or_

from api.models import Dossier
from api.reference import Reference
from api.schemas import DossierAdmin, DossierPublic, StatusStep


def days_between(start: datetime, now: datetime) -> int:
    """Whole days elapsed; naive datetimes (SQLite) are taken as UTC."""
    if start.tzinfo is None:
        start = start.replace(tzinfo=UTC)
    return max(0, (now - start).days)


def is_stuck(depuis_jours: int, delai: int | None) -> bool:
    """Stuck once the whole days in the status exceed the status's normal delay."""
    return delai is not None and depuis_jours > delai


def stuck_condition(reference: Reference, now: datetime) -> ColumnElement[bool]:
    """The SQL form of `is_stuck`: more than `delai` whole days means since `delai + 1` days."""
    clauses = [
        and_(Dossier.statut == statut, Dossier.statut_depuis <= now - timedelta(days=delai + 1))
        for statut, delai in reference.delais_normaux_jours.items()
    ]
    return or_(*clauses) if clauses else false()


def status_fields(dossier: Any, reference: Reference, now: datetime) -> dict[str, Any]:
    """The fields the owner and the back office both see: labels, time in status, stuck."""
    depuis_jours = days_between(dossier.statut_depuis, now)
    delai = reference.delais_normaux_jours.get(dossier.statut)
    return {
        "numero": dossier.numero,
        "demarche": dossier.demarche,
        "demarche_libelle": reference.demarches.get(dossier.demarche, dossier.demarche),
        "statut": dossier.statut,
        "statut_libelle": reference.statuts.get(dossier.statut, dossier.statut),
        "depuis": dossier.statut_depuis.date(),
        "depuis_jours": depuis_jours,
        "delai_normal_jours": delai,
        "bloque": is_stuck(depuis_jours, delai),
    }


def to_admin(dossier: Dossier, reference: Reference, now: datetime) -> DossierAdmin:
    """Describe `dossier` for the back office."""
    return DossierAdmin(titulaire=dossier.titulaire, **status_fields(dossier, reference, now))


def to_public(
    dossier: Any,
    historique: Sequence[Any],
    pieces: Sequence[str],
    reference: Reference,
    now: datetime,
) -> DossierPublic:
    """Describe a dossier with labels, time in status and whether it is stuck.

    `dossier` is anything with the Dossier columns as attributes (an ORM object or a row),
    `historique` rows with `statut` and `le`, oldest first.
    """
    return DossierPublic(
        **status_fields(dossier, reference, now),
        pieces_manquantes=list(pieces),
        pieces_manquantes_libelles=[reference.pieces.get(piece, piece) for piece in pieces],
        motif=dossier.motif,
        suivi_courrier=dossier.suivi_courrier,
        historique=[
            StatusStep(
                statut=step.statut,
                statut_libelle=reference.statuts.get(step.statut, step.statut),
                le=step.le.date(),
            )
            for step in historique
        ],
    )
