"""Properties every response of the domain must have."""

import re
import string
from pathlib import Path

import yaml

URL = re.compile(r"https?://|www\.")


def test_every_response_with_buttons_or_links_has_a_voice_variation(domain: dict) -> None:
    lacking = []
    for name, variations in domain["responses"].items():
        needs_voice = [
            v
            for v in variations
            if v.get("channel") is None and (v.get("buttons") or URL.search(v.get("text", "")))
        ]
        for variation in needs_voice:
            voice = [
                v
                for v in variations
                if v.get("channel") == "voice" and v.get("condition") == variation.get("condition")
            ]
            if not voice:
                lacking.append(name)
    assert not lacking, f"no voice variation for: {sorted(set(lacking))}"


def test_voice_variations_have_no_buttons_nor_links(domain: dict) -> None:
    for name, variations in domain["responses"].items():
        for variation in variations:
            if variation.get("channel") == "voice":
                assert not variation.get("buttons"), name
                assert not URL.search(variation.get("text", "")), name


def test_placeholders_are_consistent_across_variations(domain: dict) -> None:
    for name, variations in domain["responses"].items():
        names = [
            {field for _, field, _, _ in string.Formatter().parse(v.get("text", "")) if field}
            for v in variations
        ]
        base = names[0] - {"code_epele", "suivi_courrier_epele", "code", "suivi_courrier"}
        for other in names[1:]:
            other = other - {"code_epele", "suivi_courrier_epele", "code", "suivi_courrier"}
            assert other <= base or base <= other, name


def test_no_unverified_fact_is_told(domain: dict) -> None:
    """Facts marked unverified or conflicting in the data never reach a response."""
    data = yaml.safe_load(
        (Path(__file__).resolve().parents[2] / "reference/procedures.yaml").read_text("utf-8")
    )
    hidden = [
        fact["text"]
        for procedure in data["procedures"]
        for key in ("who", "cost", "deadline", "where", "temporary_documents", "processing_time")
        for fact in procedure[key]
        if fact["status"] in ("unverified", "conflicting")
    ]
    assert hidden, "the data has no unverified fact: this test would prove nothing"
    told = " ".join(v.get("text", "") for vs in domain["responses"].values() for v in vs)
    for text in hidden:
        assert text not in told
