"""Offline fixtures for the custom actions: the real domain, built trackers, faked HTTP."""

from pathlib import Path

import pytest
import yaml
from rasa_sdk import Tracker

DOMAIN_DIR = Path(__file__).resolve().parents[2] / "assistant" / "domain"


@pytest.fixture(scope="session")
def domain() -> dict:
    """The merged responses, slots and forms of assistant/domain (what Rasa sends actions)."""
    merged: dict = {"responses": {}, "slots": {}, "forms": {}}
    for path in sorted(DOMAIN_DIR.glob("*.yml")):
        part = yaml.safe_load(path.read_text(encoding="utf-8"))
        for key in merged:
            merged[key].update(part.get(key) or {})
    return merged


def make_tracker(slots: dict, text: str = "", active_loop: str | None = None) -> Tracker:
    """A tracker as Rasa would send it, with the given slots and last message."""
    return Tracker(
        sender_id="test",
        slots=slots,
        latest_message={"text": text, "intent": {"name": "check_status"}, "entities": []},
        events=[],
        paused=False,
        followup_action=None,
        active_loop={"name": active_loop} if active_loop else {},
        latest_action_name=None,
    )
