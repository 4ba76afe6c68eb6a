"""Normalise the plates, NEPH and dates people mention, whatever the form or flow.

Rasa runs this global slot validation after each message. A value that cannot be what its
entity claims is dropped rather than kept in a shape later steps (a handover summary, a
lookup) would have to repair.
"""

from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.forms import ValidationAction
from rasa_sdk.types import DomainDict

from assistant.actions.validation import ValidatesItsOwnSlots
from guichet.identifiers import normalise_neph, normalise_plate, parse_date


class ValidateMentionedIdentifiers(ValidatesItsOwnSlots, ValidationAction):
    """Keep plates as printed ("AB-123-CD"), NEPH as 12 digits and dates as ISO dates."""

    def validate_plaque(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        return {"plaque": normalise_plate(str(value)) if value else None}

    def validate_neph(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        return {"neph": normalise_neph(str(value)) if value else None}

    def validate_date(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        day = parse_date(str(value)) if value else None
        return {"date": day.isoformat() if day else None}
