"""The real-message evaluation: the set is well formed and kept out of training; the figures
are computed as documented."""

import re
from pathlib import Path

import yaml

from scripts import nlu_real

ROOT = Path(__file__).resolve().parents[2]


def _domain_intents() -> set[str]:
    intents: set[str] = set()
    for path in (ROOT / "assistant" / "domain").glob("*.yml"):
        for entry in yaml.safe_load(path.read_text(encoding="utf-8")).get("intents") or []:
            intents.add(entry if isinstance(entry, str) else next(iter(entry)))
    return intents


def _normalised(text: str) -> str:
    return re.sub(r"\W+", " ", text.lower()).strip()


def test_every_real_message_has_a_domain_intent_and_a_source() -> None:
    messages = nlu_real.load_messages()
    intents = _domain_intents()
    assert len(messages) >= 50
    for message in messages:
        assert message["intent"] in intents, message["text"]
        assert message["source"].startswith("http"), message["text"]
    texts = [_normalised(m["text"]) for m in messages]
    assert len(texts) == len(set(texts)), "a message is listed twice"


def test_no_real_message_is_in_the_training_data() -> None:
    real = {_normalised(m["text"]) for m in nlu_real.load_messages()}
    for path in (ROOT / "assistant" / "data" / "nlu").glob("*.yml"):
        for block in yaml.safe_load(path.read_text(encoding="utf-8")).get("nlu") or []:
            for line in (block.get("examples") or "").splitlines():
                example = _normalised(re.sub(r"\[([^]]*)\]\([^)]*\)", r"\1", line.lstrip("- ")))
                assert example not in real, f"{path.name}: {line}"


def test_long_messages_are_cut_into_sentences_short_pieces_kept_with_the_next() -> None:
    assert nlu_real.split_sentences("Bilan : 2 heures perdues. Je suis bloqué.") == [
        "Bilan : 2 heures perdues.",
        "Je suis bloqué.",
    ]
    assert nlu_real.split_sentences("Ouf ! J'ai enfin ma carte grise") == [
        "Ouf ! J'ai enfin ma carte grise"
    ]
    assert nlu_real.split_sentences("on est bien seuls") == ["on est bien seuls"]


def parse(intent: str, confidence: float, *others: tuple[str, float]) -> dict:
    ranking = [{"name": intent, "confidence": confidence}]
    ranking += [{"name": n, "confidence": c} for n, c in others]
    return {"intent": intent, "ranking": ranking}


def test_the_surest_sentence_naming_a_need_decides() -> None:
    whole = parse("out_of_scope", 0.5)
    parts = [parse("thank", 0.9), parse("check_status", 0.6), parse("site_bug", 0.7)]
    assert nlu_real.combine(whole, parts)["intent"] == "site_bug"
    assert nlu_real.combine(whole, [parse("greet", 0.9), parse("out_of_scope", 0.8)]) is whole
    assert nlu_real.combine(whole, [parse("site_bug", 0.9)]) is whole


def test_figures_count_rights_fallbacks_offers_and_out_of_scope() -> None:
    fallback = {
        "intent": "nlu_fallback",
        "ranking": [
            {"name": "nlu_fallback", "confidence": 0.45},
            {"name": "deadline_question", "confidence": 0.3},
            {"name": "check_status", "confidence": 0.28},
        ],
    }
    rows = [
        {"text": "a", "label": "check_status", "whole": parse("check_status", 0.8)},
        {"text": "b", "label": "check_status", "whole": fallback},
        {"text": "c", "label": "site_bug", "whole": parse("renew_licence", 0.6)},
        {"text": "d", "label": "out_of_scope", "whole": fallback},
        {"text": "e", "label": "out_of_scope", "whole": parse("urgent_case", 0.5)},
    ]
    figures = nlu_real.measure(rows, "whole")
    assert figures["in_scope"] == 3
    assert figures["in_scope_right"] == 1
    assert figures["in_scope_to_fallback"] == 1
    assert figures["in_scope_fallback_offers_it"] == 1
    assert figures["in_scope_wrong_intent"] == 1
    assert (figures["out_of_scope"], figures["out_of_scope_handled"]) == (2, 1)
    # An out-of-scope message sent to the fallback is handled, not a miss.
    assert [m["text"] for m in figures["misses"]] == ["b", "c", "e"]


def test_the_report_says_whether_the_goal_is_met_and_lists_misses() -> None:
    rows = [
        {"text": "a | b", "label": "site_bug", "whole": parse("renew_licence", 0.6)},
        {"text": "c", "label": "check_status", "whole": parse("check_status", 0.8)},
    ]
    for row in rows:
        row["split"] = row["whole"]
    markdown = "\n".join(nlu_real.render(nlu_real.build_report(rows, ["rasa train nlu"])))
    assert "**In-scope accuracy: 0.500**" in markdown
    assert "NOT met" in markdown
    assert "| a / b | site_bug | renew_licence (0.60) |" in markdown


def test_no_held_out_example_is_in_the_training_data() -> None:
    """docs/nlu.md's held-out figure is about phrasings never trained on: keep it so."""
    held_out = {
        _normalised(re.sub(r"\[([^]]*)\]\([^)]*\)", r"\1", line.strip().lstrip("- ")))
        for block in yaml.safe_load(
            (ROOT / "tests" / "nlu" / "heldout.yml").read_text(encoding="utf-8")
        )["nlu"]
        for line in block["examples"].splitlines()
        if line.strip().startswith("- ")
    }
    for path in (ROOT / "assistant" / "data" / "nlu").glob("*.yml"):
        for block in yaml.safe_load(path.read_text(encoding="utf-8")).get("nlu") or []:
            for line in (block.get("examples") or "").splitlines():
                example = _normalised(re.sub(r"\[([^]]*)\]\([^)]*\)", r"\1", line.lstrip("- ")))
                assert example not in held_out, f"{path.name}: {line}"
