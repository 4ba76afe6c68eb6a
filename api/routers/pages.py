"""What the static pages need to know at run time."""

from fastapi import APIRouter

from api.deps import SettingsDep

router = APIRouter(tags=["pages"], include_in_schema=False)


@router.get("/chat-config.json")
def chat_config(settings: SettingsDep) -> dict[str, str]:
    """Tell the chat page where the Rasa REST channel listens."""
    return {"webhook_url": f"{settings.rasa_public_url}/webhooks/rest/webhook"}
