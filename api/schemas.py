"""What comes in and what goes out: separate models so nothing leaks by accident."""

import re
from datetime import date

from pydantic import BaseModel, ConfigDict, Field, field_validator

from api.identifiers import NUMERO_PATTERN, normalise_numero


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
        numero = normalise_numero(value)
        if not re.fullmatch(NUMERO_PATTERN, numero):
            raise ValueError("le numéro doit contenir de 6 à 32 lettres ou chiffres")
        return numero


class StatusStep(BaseModel):
    """One step of the history."""

    statut: str = Field(description="Identifiant du statut.")
    statut_libelle: str = Field(description="Libellé du statut en français.")
    le: date = Field(description="Date du passage à ce statut.")


class DossierPublic(BaseModel):
    """Where a dossier stands, for its owner only."""

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
