"""Offline fixtures for the custom actions: the real domain, built trackers, faked HTTP."""

from functools import cache
from pathlib import Path

import pytest
import yaml
from rasa_sdk import Action, Tracker

ROOT = Path(__file__).resolve().parents[2]
DOMAIN_DIR = ROOT / "assistant" / "domain"
ENDPOINTS = ROOT / "endpoints.yml"


@cache
def _actions_sent_the_domain() -> frozenset[str] | None:
    """Rasa's own rule (Domain.does_custom_action_explicitly_need_domain) on our domain; None
    when Rasa sends the domain to every action."""
    from rasa.shared.core.domain import Domain

    endpoint = yaml.safe_load(ENDPOINTS.read_text(encoding="utf-8"))["action_endpoint"]
    if not endpoint.get("enable_selective_domain"):
        return None
    rasa_domain = Domain.load(DOMAIN_DIR)
    return frozenset(
        name
        for name in rasa_domain.user_actions
        if rasa_domain.does_custom_action_explicitly_need_domain(name)
    )


def sent(action: Action, domain: dict) -> dict:
    """The domain Rasa sends `action`: the whole one to the forms' validate_* actions and to
    those marked send_domain, none to the others. Actions are tested with what they get."""
    needing = _actions_sent_the_domain()
    return domain if needing is None or action.name() in needing else {}


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
