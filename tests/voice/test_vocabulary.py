"""The recogniser's French words are the ones guichet/identifiers.py reads back."""

from __future__ import annotations

import json
import subprocess

import pytest

from guichet.identifiers import _MONTHS, fold
from scripts.paths import RASA_PYTHON, ROOT
from voice.stages import Expectation
from voice.vocabulary import (
    DIGIT_WORDS,
    FRENCH,
    MONTH_WORDS,
    TEEN_WORDS,
    TENS_WORDS,
)


def test_every_month_is_one_identifiers_knows():
    assert {fold(month) for month in MONTH_WORDS} <= set(_MONTHS)
    assert sorted({_MONTHS[fold(month)] for month in MONTH_WORDS}) == list(range(1, 13))


def test_dates_and_request_numbers_can_be_said_with_the_grammar_words():
    words = FRENCH.accepted_words(Expectation.DATE)
    assert {"quatre", "juillet", "mille", "neuf", "cent", "soixante", "et", "un"} <= words
    assert {"vingt", "six", "onze", "zéro", "deux"} <= FRENCH.accepted_words(Expectation.DIGITS)


def test_decoys_answer_nothing():
    for expectation in (Expectation.YES_NO, Expectation.DIGITS, Expectation.DATE):
        assert not set(FRENCH.decoys) & FRENCH.accepted_words(expectation)


@pytest.mark.skipif(not RASA_PYTHON.exists(), reason="the Rasa environment reads numbers in words")
def test_identifiers_read_every_number_word_as_digits():
    """text_to_num lives in the Rasa environment only: ask it there."""
    script = (
        "import json, sys\n"
        "from datetime import date\n"
        "from guichet.identifiers import spoken_numbers_to_digits, parse_birth_date\n"
        "words, sentence = json.load(sys.stdin)\n"
        "print(json.dumps({'words': {w: spoken_numbers_to_digits(w + ' ' + w) for w in words},\n"
        "  'date': str(parse_birth_date(sentence, date(2026, 1, 1)))}))\n"
    )
    spoken = list(DIGIT_WORDS + TEEN_WORDS + TENS_WORDS[:1] + TENS_WORDS[2:])  # not "vingts"
    request = json.dumps([spoken, "le premier août mil neuf cent quatre vingts"])
    answer = subprocess.run(
        [str(RASA_PYTHON), "-c", script],
        input=request,
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
        env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"},
        timeout=60,
    )
    read = json.loads(answer.stdout)
    not_read = {
        word: text for word, text in read["words"].items() if not text.replace(" ", "").isdigit()
    }
    assert not not_read
    assert read["date"] == "1980-08-01"
