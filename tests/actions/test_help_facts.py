"""Phone numbers and addresses told by the hand-written domain are facts of the catalogue.

The welcome, the answers to people without digital tools and to scam victims write their
numbers and web addresses in French in the domain; each must be a fact of the catalogue's
help_channels (reference/procedures.yaml) that may be told, with sources that exist.
"""

import re
from pathlib import Path

import pytest
import yaml

from guichet.catalogue import get_catalogue

DOMAIN_DIR = Path(__file__).resolve().parents[2] / "assistant" / "domain"
TELLABLE = {"official", "secondary"}
# "34 00", "0 892 705 705", "09 70 83 07 07", "+33 9 70 83 07 07"
PHONE = re.compile(r"(?:\+33 ?|\b0 ?)[1-9]\d{0,2}(?:[ .]\d{2,3}){2,4}\b|\b\d{2} 00\b")
WEB_ADDRESS = re.compile(r"\b[a-z0-9-]+(?:\.[a-z0-9-]+)*\.(?:gouv\.)?fr\b")
HOUR = re.compile(r"\b\d{1,2} ?h ?(?:\d{2})?\b")
# The responses this part of the work wrote: each one short (issue 12).
SHORT = [
    "utter_door_welcome",
    "utter_door_welcome_phone",
    "utter_no_digital_people",
    "utter_no_digital_phone",
    "utter_no_digital_next",
    "utter_scam_victim_card",
    "utter_scam_victim_report",
    "utter_scam_victim_official",
]


def hand_written_texts() -> dict[str, list[str]]:
    """Every text of the domain files that are not generated from the catalogue, by response."""
    texts: dict[str, list[str]] = {}
    for path in sorted(DOMAIN_DIR.glob("*.yml")):
        if path.stem.endswith("_generated"):
            continue  # written from the catalogue's procedures, checked by `make lint`
        responses = yaml.safe_load(path.read_text(encoding="utf-8")).get("responses") or {}
        for name, variations in responses.items():
            texts[name] = [v.get("text", "") for v in variations]
    return texts


def help_facts() -> list[dict]:
    return [
        fact
        for channel in get_catalogue().data["help_channels"]
        for fact in channel.get("facts") or []
    ]


def tellable_text() -> str:
    return " ".join(f["text"] for f in help_facts() if f["status"] in TELLABLE)


def digits(text: str) -> str:
    return re.sub(r"\D", "", text)


def test_every_phone_number_told_is_a_tellable_fact() -> None:
    known = {digits(number) for number in PHONE.findall(tellable_text())}
    assert {"3400", "0892705705"} <= known, "the catalogue lost its phone facts"
    told = {
        (name, number)
        for name, texts in hand_written_texts().items()
        for text in texts
        for number in PHONE.findall(text)
    }
    assert told, "no phone number found in the domain: this test would prove nothing"
    unknown = sorted((name, n) for name, n in told if digits(n) not in known)
    assert not unknown, f"numbers not in reference/procedures.yaml help_channels: {unknown}"


def test_every_web_address_told_is_a_tellable_fact() -> None:
    known = set(WEB_ADDRESS.findall(tellable_text()))
    told = {
        (name, address)
        for name, texts in hand_written_texts().items()
        for text in texts
        for address in WEB_ADDRESS.findall(text)
    }
    assert told, "no web address found in the domain: this test would prove nothing"
    unknown = sorted((name, a) for name, a in told if a not in known)
    assert not unknown, f"addresses not in reference/procedures.yaml help_channels: {unknown}"


def test_the_hours_of_the_34_00_are_not_told_while_the_sources_disagree() -> None:
    hours = [
        fact
        for channel in get_catalogue().data["help_channels"]
        if channel["id"] == "ants_telephone"
        for fact in channel["facts"]
        if fact["text"].startswith("Horaires")
    ]
    assert len(hours) == 1
    if hours[0]["status"] in TELLABLE:
        pytest.skip("the hours are now sourced: they may be told")
    for name, texts in hand_written_texts().items():
        for text in texts:
            if "34 00" in text:
                assert not HOUR.search(text), f"{name} tells hours of the 34 00: {text}"


def test_help_facts_not_tellable_are_never_told() -> None:
    hidden = [f["text"] for f in help_facts() if f["status"] not in TELLABLE]
    assert hidden, "no hidden help fact: this test would prove nothing"
    told = " ".join(t for texts in hand_written_texts().values() for t in texts)
    for text in hidden:
        assert text not in told


def test_help_facts_have_known_sources() -> None:
    sources = get_catalogue().data["sources"]
    for fact in help_facts():
        assert fact["status"] in {"official", "secondary", "unverified", "conflicting"}
        if fact["status"] in TELLABLE:
            assert fact["sources"], fact["text"]
        for source in fact["sources"]:
            assert source in sources, f"{source} ({fact['text']})"


@pytest.mark.parametrize("name", SHORT)
def test_these_answers_are_short(name: str) -> None:
    texts = hand_written_texts()[name]
    for text in texts:
        sentences = [s for s in re.split(r"(?<=[.!?])\s+", text.strip()) if s]
        assert len(text) <= 300, f"{name}: {len(text)} characters"
        assert len(sentences) <= 3, f"{name}: {len(sentences)} sentences"
