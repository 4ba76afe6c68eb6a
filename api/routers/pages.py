"""What the static pages need to know at run time."""

from typing import Annotated

from fastapi import APIRouter, Depends

from api.config import Settings, get_settings

router = APIRouter(tags=["pages"], include_in_schema=False)


@router.get("/chat-config.json")
def chat_config(settings: Annotated[Settings, Depends(get_settings)]) -> dict[str, str]:
    """Tell the chat page where the Rasa REST channel listens."""
    return {"webhook_url": f"{settings.rasa_public_url}/webhooks/rest/webhook"}
