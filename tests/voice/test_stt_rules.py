"""voice/stt.py and voice/endpoint.py without a model: the check, the end of speech, the config."""

from __future__ import annotations

import json

import numpy as np
import pytest

from voice.endpoint import EnergyEndpointer, Event, frame_level_dbfs
from voice.stages import FRAME_BYTES, Expectation
from voice.stt import (
    DEFAULT_MODEL_PATH,
    OUT_OF_VOCABULARY_CEILING,
    VoskSpeechToText,
    build_grammar,
    check_words,
    model_path_from_env,
)
from voice.vocabulary import FRENCH, Vocabulary

DIGITS = frozenset({"un", "deux", "trois"})


def test_expected_words_keep_vosk_confidence():
    utterance = check_words([("deux", 0.9), ("trois", 0.7)], DIGITS)
    assert (utterance.text, utterance.confidence, utterance.in_vocabulary) == (
        "deux trois",
        0.8,
        True,
    )


def test_unknown_words_are_flagged_and_left_out_of_the_text():
    utterance = check_words([("deux", 1.0), ("[unk]", 1.0)], DIGITS)
    assert not utterance.in_vocabulary
    assert utterance.text == "deux"
    assert utterance.confidence == pytest.approx(OUT_OF_VOCABULARY_CEILING / 2)


def test_a_decoy_heard_at_full_confidence_is_not_trusted():
    utterance = check_words([("bonjour", 1.0)], DIGITS)
    assert not utterance.in_vocabulary
    assert utterance.confidence == 0.0


def test_free_decoding_accepts_any_word_but_not_unk():
    assert check_words([("bonjour", 0.9)], None).in_vocabulary
    assert not check_words([("[unk]", 0.9)], None).in_vocabulary


def test_nothing_heard_is_an_empty_untrusted_utterance():
    utterance = check_words([], DIGITS)
    assert (utterance.text, utterance.confidence, utterance.in_vocabulary) == ("", 0.0, False)


def tone(seconds: float, amplitude: int = 8000) -> bytes:
    t = np.arange(round(seconds * 16000)) / 16000
    return (amplitude * np.sin(2 * np.pi * 220 * t)).astype("<i2").tobytes()


def quiet(seconds: float) -> bytes:
    return bytes(round(seconds * 16000) * 2)


def events(endpointer: EnergyEndpointer, audio: bytes) -> list[tuple[int, Event]]:
    found = []
    for index in range(len(audio) // FRAME_BYTES):
        event = endpointer.push(audio[index * FRAME_BYTES : (index + 1) * FRAME_BYTES])
        if event is not Event.NONE:
            found.append((index, event))
    return found


def test_levels_of_silence_and_a_loud_tone():
    assert frame_level_dbfs(quiet(0.02)) == float("-inf")
    # RMS of a sine of amplitude 8000: 8000 / sqrt(2) / 32768, i.e. -15.2 dBFS.
    assert frame_level_dbfs(tone(0.02)) == pytest.approx(-15.2, abs=0.1)


@pytest.mark.parametrize("trailing", [0.2, 0.5, 1.0])
def test_speech_ends_after_exactly_the_trailing_silence(trailing):
    endpointer = EnergyEndpointer(trailing)
    found = events(endpointer, quiet(0.5) + tone(1.0) + quiet(2.0))
    # Speech starts on the third loud frame (60 ms), ends trailing/20 ms frames after the tone.
    assert found == [(25 + 2, Event.STARTED), (75 + round(trailing / 0.02) - 1, Event.ENDED)]


def test_a_short_click_is_not_speech():
    endpointer = EnergyEndpointer(0.5)
    assert events(endpointer, quiet(0.2) + tone(0.04) + quiet(1.0)) == []
    assert not endpointer.speaking


def test_a_long_monologue_is_cut():
    endpointer = EnergyEndpointer(0.5, max_utterance=2.0)
    found = events(endpointer, tone(3.0))
    assert [event for _, event in found][:2] == [Event.STARTED, Event.ENDED]
    assert found[1][0] == 2 + 100 - 3  # 2 s of frames counted from the start of speech


def test_trailing_silence_shorter_than_a_frame_is_refused():
    with pytest.raises(ValueError):
        EnergyEndpointer(0.01)


def test_model_path_comes_from_the_environment(tmp_path):
    assert model_path_from_env({"GUICHET_VOSK_MODEL": str(tmp_path)}) == tmp_path
    assert model_path_from_env({}) == DEFAULT_MODEL_PATH
    assert model_path_from_env({"GUICHET_VOSK_MODEL": "  "}) == DEFAULT_MODEL_PATH


def test_without_a_model_speech_is_off_and_says_so_in_both_languages(tmp_path):
    missing = tmp_path / "vosk-model-small-fr-0.22"
    stt = VoskSpeechToText(missing)
    assert not stt.available
    message = stt.startup_message()
    assert message.startswith("Reconnaissance vocale désactivée : aucun modèle Vosk à ")
    assert "Le téléphone fonctionne au clavier." in message
    assert "Speech recognition off: no Vosk model at" in message
    assert str(missing) in message and "make voice-model" in message
    with pytest.raises(RuntimeError):
        stt.open_stream()
    stt.close()


def test_no_path_at_all_is_the_same_as_no_model():
    stt = VoskSpeechToText(None)
    assert not stt.available
    assert "aucun modèle Vosk à (aucun chemin)" in stt.startup_message()


def test_a_broken_model_is_reported_not_raised(tmp_path):
    (tmp_path / "am").mkdir()
    stt = VoskSpeechToText(tmp_path)
    assert not stt.available
    assert "illisible" in stt.startup_message()
    assert "could not be loaded" in stt.startup_message()


def test_the_grammar_keeps_known_words_decoys_and_unk():
    vocabulary = Vocabulary(
        phrases={Expectation.DIGITS: ("un", "deux", "vingt et un")}, decoys=("merci",)
    )
    known = {"un", "deux", "merci", "[unk]"}
    grammar = build_grammar(vocabulary, Expectation.DIGITS, (), known.__contains__)
    assert json.loads(grammar) == ["un", "deux", "merci", "[unk]"]  # "vingt et un" unknown
    with_titles = build_grammar(vocabulary, Expectation.DIGITS, ("deux",), known.__contains__)
    assert json.loads(with_titles) == ["un", "deux", "merci", "[unk]"]


def test_non_ascii_words_are_written_as_they_are():
    vocabulary = Vocabulary(phrases={Expectation.DIGITS: ("zéro",)})
    assert (
        build_grammar(vocabulary, Expectation.DIGITS, (), lambda word: True) == '["zéro", "[unk]"]'
    )


def test_nothing_expected_or_nothing_known_means_free_decoding():
    assert build_grammar(FRENCH, Expectation.FREE, (), lambda word: True) is None
    assert build_grammar(FRENCH, Expectation.DIGITS, (), lambda word: False) is None
