"""Turn a stored dossier into what its owner is told."""

from datetime import UTC, datetime

from api.models import Dossier
from api.reference import Reference
from api.schemas import DossierPublic, StatusStep


def days_between(start: datetime, now: datetime) -> int:
    """Whole days elapsed; naive datetimes (SQLite) are taken as UTC."""
    if start.tzinfo is None:
        start = start.replace(tzinfo=UTC)
    return max(0, (now - start).days)


def to_public(dossier: Dossier, reference: Reference, now: datetime) -> DossierPublic:
    """Describe `dossier` with labels, time in status and whether it is stuck."""
    depuis_jours = days_between(dossier.statut_depuis, now)
    delai = reference.delais_normaux_jours.get(dossier.statut)
    pieces = [missing.piece for missing in dossier.pieces_manquantes]
    return DossierPublic(
        numero=dossier.numero,
        demarche=dossier.demarche,
        demarche_libelle=reference.demarches.get(dossier.demarche, dossier.demarche),
        statut=dossier.statut,
        statut_libelle=reference.statuts.get(dossier.statut, dossier.statut),
        depuis=dossier.statut_depuis.date(),
        depuis_jours=depuis_jours,
        bloque=delai is not None and depuis_jours > delai,
        delai_normal_jours=delai,
        pieces_manquantes=pieces,
        pieces_manquantes_libelles=[reference.pieces.get(piece, piece) for piece in pieces],
        motif=dossier.motif,
        suivi_courrier=dossier.suivi_courrier,
        historique=[
            StatusStep(
                statut=step.statut,
                statut_libelle=reference.statuts.get(step.statut, step.statut),
                le=step.le.date(),
            )
            for step in dossier.historique
        ],
    )
