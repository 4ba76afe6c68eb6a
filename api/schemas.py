"""What comes in and what goes out: separate models so nothing leaks by accident."""

import re
from datetime import date, datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from guichet.identifiers import NUMERO_PATTERN, compact_numero


class LookupRequest(BaseModel):
    """A person's request number and date of birth, as the assistant collected them."""

    model_config = ConfigDict(extra="forbid")

    numero: str = Field(
        min_length=1,
        max_length=64,
        description="Numéro de la demande ; espaces, points et tirets sont acceptés.",
        examples=["26 11 000 001"],
    )
    date_naissance: date = Field(
        description="Date de naissance du titulaire (AAAA-MM-JJ).", examples=["1948-03-12"]
    )

    @field_validator("numero")
    @classmethod
    def normalise(cls, value: str) -> str:
        """Accept the number as people type it; reject what cannot be a number."""
        numero = compact_numero(value)
        if not re.fullmatch(NUMERO_PATTERN, numero):
            raise ValueError("le numéro doit contenir de 6 à 32 lettres ou chiffres")
        return numero


class StatusStep(BaseModel):
    """One step of the history."""

    statut: str = Field(description="Identifiant du statut.")
    statut_libelle: str = Field(description="Libellé du statut en français.")
    le: date = Field(description="Date du passage à ce statut.")


class DossierStatusFields(BaseModel):
    """What both the owner and the back office see of a dossier's current status."""

    numero: str = Field(description="Numéro normalisé de la demande.")
    demarche: str = Field(description="Identifiant de la démarche.")
    demarche_libelle: str = Field(description="Nom de la démarche en français.")
    statut: str = Field(description="Identifiant du statut actuel.")
    statut_libelle: str = Field(description="Libellé du statut actuel en français.")
    depuis: date = Field(description="Date d'entrée dans le statut actuel.")
    depuis_jours: int = Field(description="Nombre de jours passés dans le statut actuel.")
    bloque: bool = Field(description="Vrai si le dossier dépasse le délai normal de ce statut.")
    delai_normal_jours: int | None = Field(
        description="Délai normal du statut actuel, s'il existe."
    )


class DossierPublic(DossierStatusFields):
    """Where a dossier stands, for its owner only."""

    pieces_manquantes: list[str] = Field(description="Identifiants des pièces demandées.")
    pieces_manquantes_libelles: list[str] = Field(description="Pièces demandées, en français.")
    motif: str | None = Field(description="Motif donné par le service instructeur.")
    suivi_courrier: str | None = Field(description="Numéro de suivi La Poste, une fois expédié.")
    historique: list[StatusStep] = Field(
        description="Statuts successifs, du plus ancien au plus récent."
    )


class Problem(BaseModel):
    """An error the caller can show or log."""

    detail: str = Field(description="Explication en français.")


class FieldError(BaseModel):
    """One faulty field of a request."""

    champ: str = Field(description="Champ en cause, par exemple `date_naissance`.")
    message: str = Field(description="Ce qui ne va pas, en français.")


class ValidationProblem(BaseModel):
    """A request the API cannot accept as it is (422)."""

    detail: str = Field(description="Résumé en français.")
    erreurs: list[FieldError] = Field(description="Chaque champ en cause.")


# --- Events from the instruction system -------------------------------------------------------

PIECE_PATTERN = r"^[a-z0-9_]{1,64}$"


class DossierEventIn(BaseModel):
    """A change of a dossier, as the instruction system reports it: the state after it."""

    model_config = ConfigDict(extra="forbid")

    event_id: str = Field(
        min_length=1,
        max_length=64,
        pattern=r"^[A-Za-z0-9._:-]+$",
        description="Identifiant unique de l'événement : renvoyé deux fois, il n'est appliqué "
        "qu'une fois.",
        examples=["instr-2026-000123"],
    )
    statut: str = Field(
        min_length=1, max_length=32, description="Nouveau statut (identifiant connu).",
        examples=["incomplet"],
    )  # fmt: skip
    pieces_manquantes: list[Annotated[str, Field(pattern=PIECE_PATTERN)]] = Field(
        default_factory=list,
        max_length=20,
        description="Liste complète des pièces encore demandées (identifiants connus).",
        examples=[["justificatif_domicile"]],
    )
    motif: str | None = Field(
        default=None, max_length=500, description="Motif donné au titulaire, s'il y en a un."
    )
    suivi_courrier: str | None = Field(
        default=None,
        max_length=32,
        pattern=r"^[A-Za-z0-9]+$",
        description="Numéro de suivi La Poste, une fois le titre expédié.",
    )
    le: datetime | None = Field(
        default=None,
        description="Moment du changement (ISO 8601) ; par défaut, la réception.",
    )

    @field_validator("pieces_manquantes")
    @classmethod
    def no_duplicate(cls, pieces: list[str]) -> list[str]:
        """A piece is asked for once."""
        if len(set(pieces)) != len(pieces):
            raise ValueError("une pièce figure deux fois")
        return pieces


class DossierEventReceipt(BaseModel):
    """The dossier after an event: the same body each time the event is sent again."""

    event_id: str = Field(description="Identifiant de l'événement.")
    numero: str = Field(description="Numéro du dossier.")
    statut: str = Field(description="Statut du dossier après l'événement.")
    depuis: datetime = Field(description="Début du statut actuel.")
    pieces_manquantes: list[str] = Field(description="Pièces encore demandées.")
    motif: str | None = Field(description="Motif en vigueur.")
    suivi_courrier: str | None = Field(description="Numéro de suivi La Poste.")
    historique_etapes: int = Field(description="Nombre d'étapes de l'historique.")


# --- Checklists before sending -----------------------------------------------------------------

PieceId = Annotated[str, Field(pattern=PIECE_PATTERN, description="Identifiant de pièce.")]


class ChecklistAnswer(BaseModel):
    """What the person said about one document."""

    model_config = ConfigDict(extra="forbid")

    piece: PieceId
    reponse: Literal["oui", "non", "je_ne_sais_pas", "non_concerne"] = Field(
        description="« oui » (prête), « non » (manquante), « je_ne_sais_pas », « non_concerne »."
    )


class ChecklistResult(BaseModel):
    """The assistant's conclusion: documents ready, missing, and to check."""

    model_config = ConfigDict(extra="forbid")

    prets: list[PieceId] = Field(max_length=50, description="Pièces prêtes.")
    manquants: list[PieceId] = Field(max_length=50, description="Pièces manquantes.")
    a_verifier: list[PieceId] = Field(max_length=50, description="Pièces à vérifier.")


class ChecklistIn(BaseModel):
    """A check before sending, as the assistant computed it."""

    model_config = ConfigDict(extra="forbid")

    demarche: str = Field(
        pattern=r"^[a-z0-9_]{1,64}$",
        description="Identifiant de la démarche (l'une des 18 de la référence).",
        examples=["permis_perte"],
    )
    reponses: list[ChecklistAnswer] = Field(
        min_length=1, max_length=50, description="Réponses, pièce par pièce."
    )
    resultat: ChecklistResult

    @model_validator(mode="after")
    def consistent(self) -> "ChecklistIn":
        """Each piece is answered once, and the result only sorts answered pieces."""
        answered = [answer.piece for answer in self.reponses]
        if len(set(answered)) != len(answered):
            raise ValueError("une pièce a deux réponses")
        sorted_pieces = self.resultat.prets + self.resultat.manquants + self.resultat.a_verifier
        if len(set(sorted_pieces)) != len(sorted_pieces):
            raise ValueError("une pièce figure dans deux listes du résultat")
        if not set(sorted_pieces) <= set(answered):
            raise ValueError("le résultat cite une pièce sans réponse")
        return self


class ChecklistOut(BaseModel):
    """A saved check, found again by its code."""

    code: str = Field(description="Code à lire à un médiateur, lettre par lettre.")
    demarche: str = Field(description="Identifiant de la démarche.")
    demarche_libelle: str = Field(description="Nom de la démarche en français.")
    reponses: list[ChecklistAnswer]
    resultat: ChecklistResult
    cree_le: datetime = Field(description="Date d'enregistrement.")


# --- Back office -------------------------------------------------------------------------------


class DossierAdmin(DossierStatusFields):
    """A dossier as the back office lists it: no date of birth, no history."""

    titulaire: str = Field(description="Nom du titulaire.")


class DossierAdminList(BaseModel):
    """Dossiers, longest in their status first."""

    total: int = Field(description="Nombre de dossiers qui répondent au filtre.")
    dossiers: list[DossierAdmin]
