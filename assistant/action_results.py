"""Check the action server's answers against Rasa's schema with a validator built once.

Rasa 3.6 (`RemoteAction._validate_action_result`) calls `jsonschema.validate` on every answer of
the action server, and `validate` checks the schema itself before the answer: about 35 ms of CPU
per custom action, two thirds of a turn's time under load (issue 11, docs/performance.md). The
schema never changes while Rasa runs, so it is checked once here; the answer is still checked,
with the same error (jsonschema's best match, Rasa's message) when it is wrong.
"""

from functools import cache
from typing import Any

from jsonschema import ValidationError, exceptions
from jsonschema.protocols import Validator
from jsonschema.validators import validator_for
from rasa.core.actions.action import RemoteAction
from rasa.shared.constants import DOCS_BASE_URL

# Rasa's own words when the action server's answer is malformed (rasa/core/actions/action.py).
RASA_HINT = (
    ". Failed to validate Action server response from API, make sure your response from the "
    f"Action endpoint is valid. For more information about the format visit "
    f"{DOCS_BASE_URL}/custom-actions"
)


@cache
def action_result_validator() -> Validator:
    """The validator of Rasa's action-answer schema, the schema checked once."""
    schema = RemoteAction.action_response_format_spec()
    validator_class = validator_for(schema)
    validator_class.check_schema(schema)
    return validator_class(schema)


def validate_action_result(_action: RemoteAction, result: dict[str, Any]) -> bool:
    """What `jsonschema.validate` does, without checking the schema again each time."""
    error = exceptions.best_match(action_result_validator().iter_errors(result))
    if error is not None:
        error.message += RASA_HINT
        raise error
    return True


def install() -> None:
    """Make every RemoteAction of this process use the cached validator."""
    RemoteAction._validate_action_result = validate_action_result  # type: ignore[method-assign]


__all__ = ["ValidationError", "action_result_validator", "install", "validate_action_result"]
