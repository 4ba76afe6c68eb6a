"""Tables: dossiers, their status history and the documents still missing."""

from datetime import datetime

from sqlalchemy import DateTime, ForeignKey, String, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship


class Base(DeclarativeBase):
    """Declarative base of every table of the API."""


class Dossier(Base):
    """One ANTS request as the instruction system knows it."""

    __tablename__ = "dossiers"

    numero: Mapped[str] = mapped_column(String(32), primary_key=True)
    demarche: Mapped[str] = mapped_column(String(64))
    titulaire: Mapped[str] = mapped_column(String(200))
    # HMAC-SHA256 of the ISO date of birth with the server key: never the date itself.
    date_naissance_hmac: Mapped[str] = mapped_column(String(64))
    statut: Mapped[str] = mapped_column(String(32))
    statut_depuis: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    motif: Mapped[str | None] = mapped_column(Text, default=None)
    suivi_courrier: Mapped[str | None] = mapped_column(String(32), default=None)

    historique: Mapped[list["StatusChange"]] = relationship(
        back_populates="dossier", order_by="StatusChange.le", cascade="all, delete-orphan"
    )
    pieces_manquantes: Mapped[list["MissingPiece"]] = relationship(
        back_populates="dossier", order_by="MissingPiece.id", cascade="all, delete-orphan"
    )


class StatusChange(Base):
    """One step of a dossier's status history."""

    __tablename__ = "status_changes"

    id: Mapped[int] = mapped_column(primary_key=True)
    numero: Mapped[str] = mapped_column(
        ForeignKey("dossiers.numero", ondelete="CASCADE"), index=True
    )
    statut: Mapped[str] = mapped_column(String(32))
    le: Mapped[datetime] = mapped_column(DateTime(timezone=True))

    dossier: Mapped[Dossier] = relationship(back_populates="historique")


class MissingPiece(Base):
    """A document the instruction service still asks for."""

    __tablename__ = "missing_pieces"

    id: Mapped[int] = mapped_column(primary_key=True)
    numero: Mapped[str] = mapped_column(
        ForeignKey("dossiers.numero", ondelete="CASCADE"), index=True
    )
    piece: Mapped[str] = mapped_column(String(64))

    dossier: Mapped[Dossier] = relationship(back_populates="pieces_manquantes")
