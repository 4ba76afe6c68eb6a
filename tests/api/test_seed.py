from sqlalchemy import select, text

from api.config import get_settings
from api.db import get_sessionmaker
from api.models import Dossier
from api.seed import seed


def test_seeding_is_idempotent_and_reset_restores(seeded: None) -> None:
    settings = get_settings()
    with get_sessionmaker()() as session:
        assert seed(session, settings.fixture_path, settings.dob_hash_key) == 0
        dossier = session.get(Dossier, "2611000001")
        dossier.statut = "expedie"
        session.commit()
        assert seed(session, settings.fixture_path, settings.dob_hash_key, reset=True) == 12
        session.expire_all()
        assert session.get(Dossier, "2611000001").statut == "en_instruction"
        assert len(session.scalars(select(Dossier)).all()) == 12


def test_date_of_birth_is_never_stored_in_clear(seeded: None) -> None:
    with get_sessionmaker()() as session:
        rows = session.execute(text("SELECT * FROM dossiers")).all()
    stored = " ".join(str(value) for row in rows for value in row)
    for birth_date in ("1961-07-04", "1948-03-12", "04/07/1961", "19610704"):
        assert birth_date not in stored
