from sqlalchemy import select, text

from api.context import AppContext
from api.models import Dossier
from api.seed import main as seed_main
from api.seed import seed
from tests.api.test_lookup import lookup


def test_seeding_is_idempotent_and_reset_restores(api_context: AppContext) -> None:
    settings = api_context.settings
    with api_context.sessionmaker() as session:
        assert seed(session, settings.fixture_path, settings.dob_hash_key) == 0
        dossier = session.get(Dossier, "2611000001")
        dossier.statut = "expedie"
        session.commit()
        assert seed(session, settings.fixture_path, settings.dob_hash_key, reset=True) == 12
        session.expire_all()
        assert session.get(Dossier, "2611000001").statut == "en_instruction"
        assert len(session.scalars(select(Dossier)).all()) == 12


def test_date_of_birth_is_never_stored_in_clear(api_context: AppContext) -> None:
    with api_context.sessionmaker() as session:
        rows = session.execute(text("SELECT * FROM dossiers")).all()
    stored = " ".join(str(value) for row in rows for value in row)
    for birth_date in ("1961-07-04", "1948-03-12", "04/07/1961", "19610704"):
        assert birth_date not in stored


def test_reset_lifts_the_demo_locks(client, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    for day in range(1, 6):
        lookup(client, "2611000003", f"1955-11-0{day}")
    assert lookup(client, "2611000003", "1955-11-30").status_code == 429
    monkeypatch.setattr("sys.argv", ["api.seed", "--reset"])
    seed_main()
    assert lookup(client, "2611000003", "1955-11-30").status_code == 200
