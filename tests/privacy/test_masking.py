"""mask_personal_data: what people type is masked, ordinary words and small numbers are not."""

import subprocess
from datetime import date
from pathlib import Path

import pytest

from assistant.privacy import mask_personal_data
from guichet.identifiers import normalise_numero, parse_birth_date

ROOT = Path(__file__).resolve().parents[2]
API_PYTHON = ROOT / ".venv" / "bin" / "python"

MASKED = [
    # Dates of birth in every usual shape.
    ("04/07/1961", "[date]"),
    ("né le 4-7-61", "né le [date]"),
    ("04071961", "[date]"),
    ("4 juillet 1961", "[date]"),
    ("le 4 juillet 61", "le [date]"),
    ("1961-07-04", "[date]"),
    ("04.07.1961", "[date]"),
    ("04 07 1961", "[date]"),
    ("le 1er août 1950", "le [date]"),
    ("premier aout 61", "[date]"),
    ("12 févr. 1948", "[date]"),
    ("ÉCRIT LE 4 JUILLET 1961", "ÉCRIT LE [date]"),
    ("Né le 04/07/1961 à 10h", "Né le [date] à 10h"),
    # French phone numbers.
    ("06 12 34 56 78", "[téléphone]"),
    ("appelez-moi au 06.12.34.56.78 svp", "appelez-moi au [téléphone] svp"),
    ("0612345678", "[téléphone]"),
    ("+33 6 12 34 56 78", "[téléphone]"),
    ("+33 (0)6 12 34 56 78", "[téléphone]"),
    ("0033 6 12 34 56 78", "[téléphone]"),
    # Request numbers, NEPH and other long numbers, however grouped.
    ("2611000002", "[numéro]"),
    ("c'est le 26 11 000 002", "c'est le [numéro]"),
    ("26-11-000-002", "[numéro]"),
    ("26.11.000.002", "[numéro]"),
    ("mon NEPH 1205 7520 0123", "mon NEPH [numéro]"),
    ("n°123456", "n°[numéro]"),
    # Plates and e-mail addresses.
    ("ma plaque AB-123-CD", "ma plaque [plaque]"),
    ("ab123cd", "[plaque]"),
    ("1234 AB 56", "[plaque]"),
    ("jean.dupont@example.fr", "[courriel]"),
    ("from 81.56.12.7 to 127.0.0.1:5005", "from [adresse IP] to 127.0.0.1:5005"),
    # Numbers said in words, as speech recognition writes them.
    ("quatre juillet mille neuf cent soixante et un", "[date]"),
    ("vingt six onze zéro zéro zéro zéro zéro deux", "[numéro]"),
    ("zéro six douze trente-quatre cinquante-six soixante-dix-huit", "[téléphone]"),
]

KEPT = [
    "j'ai 2 voitures",
    "j'ai deux voitures",
    "appelez le 34 00",
    "le 34 00 ou le 3400",
    "75011 Paris",
    "le 4 juillet",
    "3 mars",
    "2,76 €",
    "10 000 €",
    "en 1961",
    "Rasa 3.6.21",
    "Starting Rasa server on http://127.0.0.1:5005",
    "Action endpoint is up and running on http://0.0.0.0:5055",
    '"confidence": 0.9876543',
    "le 123 de la rue",
    "Où en est mon dossier ?",
    "renouvellement du permis",
    "",
]


@pytest.mark.parametrize(("text", "expected"), MASKED)
def test_personal_data_is_masked(text, expected):
    assert mask_personal_data(text) == expected


@pytest.mark.parametrize("text", KEPT)
def test_ordinary_text_is_kept(text):
    assert mask_personal_data(text) == text


@pytest.mark.parametrize(("text", "_expected"), MASKED)
def test_masking_is_idempotent(text, _expected):
    once = mask_personal_data(text)
    assert mask_personal_data(once) == once


@pytest.mark.parametrize(
    "text",
    ["04/07/1961", "4 juillet 1961", "04071961", "1961-07-04", "le 1er août 1950", "04 07 1961"],
)
def test_no_date_the_assistant_reads_survives(text):
    assert parse_birth_date(text, date(2026, 1, 1)) is not None
    assert parse_birth_date(mask_personal_data(text), date(2026, 1, 1)) is None


@pytest.mark.parametrize("text", ["2611000002", "26 11 000 002", "26-11-000-002"])
def test_no_request_number_the_assistant_reads_survives(text):
    assert normalise_numero(text) == "2611000002"
    assert "2611000002" not in (normalise_numero(mask_personal_data(text)) or "")


@pytest.mark.skipif(not API_PYTHON.exists(), reason="no API environment (.venv) to import it in")
def test_the_api_environment_imports_it_without_rasa():
    # Python 3.11 without Rasa nor text_to_num: digits are masked, words are left.
    script = (
        "from assistant.privacy import mask_personal_data as m; "
        "print(m('04/07/1961, 26 11 000 002'))"
    )
    result = subprocess.run(
        [str(API_PYTHON), "-c", script],
        cwd=ROOT,
        env={"PYTHONPATH": str(ROOT), "PYTHONUTF8": "1", "PATH": "/usr/bin"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[date], [numéro]"
