"""Validation actions that know their slots without the domain.

Rasa sends its 200 KB domain to no action by default here (endpoints.yml,
enable_selective_domain; the forms' validate_* actions are marked send_domain: false). rasa_sdk
reads from the domain which slots a validation action checks; these actions say it themselves:
exactly the slots they have a `validate_<slot>` method for.
"""

from rasa_sdk.types import DomainDict

VALIDATOR_PREFIX = "validate_"


class ValidatesItsOwnSlots:
    """Mixin for rasa_sdk's ValidationAction and FormValidationAction (listed first)."""

    def domain_slots(self, domain: DomainDict) -> list[str]:
        return [
            name.removeprefix(VALIDATOR_PREFIX)
            for name in dir(type(self))
            if name.startswith(VALIDATOR_PREFIX) and callable(getattr(type(self), name))
        ]
