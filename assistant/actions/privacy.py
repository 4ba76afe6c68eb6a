"""Erasing a conversation when the person asks for it ("effacez ma conversation").

The action says it is done, then marks its answer for the chat door: the door reads the
marker once Rasa has saved the conversation, deletes it from the tracker store
(api.retention.forget_conversation), strips the marker and gives the browser a new
conversation. Here, the dialogue restarts: nothing said before is carried on.
"""

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, Restarted
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

# Read by api/chat_door.py (FORGET_MARKER, wants_forgetting); never shown to anyone.
FORGET_MARKER = {"guichet": {"forget": True}}


class ActionForgetConversation(Action):
    """Confirmed erasure: say it is done, mark the answer for the door, restart."""

    def name(self) -> str:
        return "action_forget_conversation"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        dispatcher.utter_message(response="utter_conversation_forgotten")
        dispatcher.utter_message(json_message=FORGET_MARKER)
        # Rasa resets the tracker (slots, form, history) and starts a new session.
        return [Restarted()]
