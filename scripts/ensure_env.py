"""Create or complete the local .env so a newcomer never has to invent a secret.

Existing values are never changed; only missing keys are appended.
"""

import secrets
import sys
from pathlib import Path

from dotenv import dotenv_values

SECRET_KEYS = (
    "GUICHET_ASSISTANT_TOKEN",
    "GUICHET_INSTRUCTION_TOKEN",
    "GUICHET_ADMIN_TOKEN",
    "GUICHET_DOB_HASH_KEY",
    # The chat door's token to Rasa's chat channel, and the key that signs its cookies.
    "GUICHET_CHAT_TOKEN",
    "GUICHET_COOKIE_KEY",
    # Rasa's token to the action server; the operators' token to Rasa's HTTP API.
    "GUICHET_ACTIONS_TOKEN",
    "GUICHET_RASA_TOKEN",
    # Encrypts what the conversation store must keep for a while (the request number).
    "GUICHET_TRACKER_KEY",
    # The voice gateway's token to Rasa's voice channel (assistant/voice_channel.py).
    "GUICHET_VOICE_TOKEN",
    # The chat door's token to the voice gateway's /tts and /ws (voice/web.py).
    "GUICHET_VOICE_WEB_TOKEN",
)
PLAIN_DEFAULTS = {"GUICHET_ENV": "development"}


def missing_entries(existing: dict[str, str | None]) -> dict[str, str]:
    """Return the keys absent from `existing`, with fresh values."""
    entries = {key: value for key, value in PLAIN_DEFAULTS.items() if key not in existing}
    for key in SECRET_KEYS:
        if not existing.get(key):
            entries[key] = secrets.token_urlsafe(32)
    return entries


def main(path: Path) -> None:
    existing = dotenv_values(path) if path.exists() else {}
    entries = missing_entries(existing)
    if not entries:
        return
    text = (
        path.read_text(encoding="utf-8") if path.exists() else "# Local secrets, never committed.\n"
    )
    if not text.endswith("\n"):
        text += "\n"
    text += "".join(f"{key}={value}\n" for key, value in entries.items())
    path.write_text(text, encoding="utf-8")
    path.chmod(0o600)
    print(f"[setup] {path}: ajouté {', '.join(sorted(entries))}")


if __name__ == "__main__":
    main(Path(sys.argv[1] if len(sys.argv) > 1 else ".env"))
