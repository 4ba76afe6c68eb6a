"""Rasa checks the action server's answers as before, without re-checking the schema each time."""

import jsonschema
import pytest
import rasa
from jsonschema import ValidationError
from rasa.core.actions.action import RemoteAction

from assistant import action_results

VALID_ANSWERS = [
    {"events": [], "responses": []},
    {
        "events": [
            {"event": "slot", "name": "numero_dossier", "value": None},
            {"event": "active_loop", "name": None},
        ],
        "responses": [{"response": "utter_status_en_instruction", "buttons": []}],
    },
    {},
]
MALFORMED_ANSWERS = [
    {"events": "not a list"},
    {"events": [{"event": "slot"}]},
    {"events": [{"event": "no_such_event"}]},
    {"responses": [1, 2]},
    [],
]


@pytest.fixture
def remote_action() -> RemoteAction:
    return RemoteAction("action_check_dossier_status", None)


def test_rasa_is_the_version_this_replacement_was_written_for() -> None:
    # The replacement mirrors rasa/core/actions/action.py of Rasa 3.6: re-read it on upgrade.
    assert rasa.__version__.startswith("3.6.")
    assert callable(RemoteAction.action_response_format_spec)


def test_install_replaces_rasa_s_check(monkeypatch: pytest.MonkeyPatch) -> None:
    original = RemoteAction._validate_action_result
    monkeypatch.setattr(RemoteAction, "_validate_action_result", original)
    action_results.install()
    assert RemoteAction._validate_action_result is action_results.validate_action_result


@pytest.mark.parametrize("answer", VALID_ANSWERS)
def test_valid_answers_pass(remote_action: RemoteAction, answer: dict) -> None:
    assert action_results.validate_action_result(remote_action, answer) is True


@pytest.mark.parametrize("answer", MALFORMED_ANSWERS)
def test_malformed_answers_fail_as_with_jsonschema_validate(
    remote_action: RemoteAction, answer: dict
) -> None:
    with pytest.raises(ValidationError) as expected:
        jsonschema.validate(answer, RemoteAction.action_response_format_spec())
    with pytest.raises(ValidationError) as ours:
        action_results.validate_action_result(remote_action, answer)
    assert ours.value.message == expected.value.message + action_results.RASA_HINT
    assert list(ours.value.path) == list(expected.value.path)


def test_the_schema_is_checked_once(
    monkeypatch: pytest.MonkeyPatch, remote_action: RemoteAction
) -> None:
    action_results.action_result_validator.cache_clear()
    validator_class = jsonschema.validators.validator_for(
        RemoteAction.action_response_format_spec()
    )
    checks = []
    real_check = validator_class.check_schema
    monkeypatch.setattr(
        validator_class, "check_schema", lambda schema: checks.append(1) or real_check(schema)
    )
    for answer in VALID_ANSWERS * 3:
        action_results.validate_action_result(remote_action, answer)
    assert len(checks) == 1
