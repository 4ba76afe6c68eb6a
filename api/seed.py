"""Create the schema and load the demo dossiers: `python -m api.seed [--reset]`.

Seeding is idempotent: a dossier already present is left as it is. `--reset` puts the demo
dossiers back as the fixture describes them, with dates relative to now, and lifts their
attempt locks.
"""

import argparse
import re
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import yaml
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from api.config import Settings
from api.db import make_engine, make_sessionmaker
from api.migrate import upgrade_to_head
from api.models import Dossier, MissingPiece, StatusChange
from api.ratelimit import build_limiter
from api.security import hash_birth_date

_RELATIVE = re.compile(r"^-(\d+)d$")


def resolve_date(value: str, now: datetime) -> datetime:
    """Turn the fixture's "-12d" into the moment 12 days before `now`."""
    match = _RELATIVE.match(value)
    if not match:
        raise ValueError(f"unsupported fixture date {value!r} (expected '-<days>d')")
    return now - timedelta(days=int(match.group(1)))


def build_dossier(entry: dict, hash_key: str, now: datetime) -> Dossier:
    """Build one dossier and its history from a fixture entry."""
    history = [
        StatusChange(statut=step["statut"], le=resolve_date(step["le"], now))
        for step in entry["historique"]
    ]
    current = [step for step in history if step.statut == entry["statut"]]
    return Dossier(
        numero=entry["numero"],
        demarche=entry["demarche"],
        titulaire=entry["titulaire"],
        date_naissance_hmac=hash_birth_date(hash_key, date.fromisoformat(entry["date_naissance"])),
        statut=entry["statut"],
        statut_depuis=current[-1].le if current else history[-1].le,
        motif=entry.get("motif"),
        suivi_courrier=entry.get("suivi_courrier"),
        historique=history,
        pieces_manquantes=[
            MissingPiece(piece=piece) for piece in entry.get("pieces_manquantes", [])
        ],
    )


def demo_numeros(fixture_path: Path) -> list[str]:
    """The numbers of the fixture's dossiers."""
    entries = yaml.safe_load(fixture_path.read_text(encoding="utf-8"))["dossiers"]
    return [entry["numero"] for entry in entries]


def seed(session: Session, fixture_path: Path, hash_key: str, reset: bool = False) -> int:
    """Insert the fixture's dossiers that are missing; return how many were inserted."""
    entries = yaml.safe_load(fixture_path.read_text(encoding="utf-8"))["dossiers"]
    numeros = [entry["numero"] for entry in entries]
    if reset:
        session.execute(delete(Dossier).where(Dossier.numero.in_(numeros)))
    present = set(session.scalars(select(Dossier.numero).where(Dossier.numero.in_(numeros))))
    now = datetime.now(UTC)
    added = [
        build_dossier(entry, hash_key, now) for entry in entries if entry["numero"] not in present
    ]
    session.add_all(added)
    session.commit()
    return len(added)


def seed_database(settings: Settings, reset: bool = False) -> int:
    """Migrate the configured database and seed it; with `reset`, also lift the demo numbers'
    attempt limits. Return how many dossiers were inserted."""
    if not settings.dob_hash_key:
        raise SystemExit(
            "GUICHET_DOB_HASH_KEY is not set: run `make run` or scripts/setup.sh first"
        )
    if settings.database_url.startswith("sqlite:///"):
        Path(settings.database_url.removeprefix("sqlite:///")).parent.mkdir(
            parents=True, exist_ok=True
        )
    upgrade_to_head(settings.database_url)
    engine = make_engine(settings.database_url)
    try:
        with make_sessionmaker(engine)() as session:
            added = seed(session, settings.fixture_path, settings.dob_hash_key, reset=reset)
        if reset:
            build_limiter(settings, engine).forget(demo_numeros(settings.fixture_path))
    finally:
        engine.dispose()
    return added


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reset", action="store_true", help="put the demo dossiers back as new")
    args = parser.parse_args()
    added = seed_database(Settings(), reset=args.reset)
    print(f"[seed] {added} dossier(s) de démonstration ajouté(s)")


if __name__ == "__main__":
    main()
