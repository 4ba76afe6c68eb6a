"""Settings read from the environment (and the local .env), validated once.

Each entry point builds its `Settings()` once and hands it on: `api/asgi.py` to `create_app`,
the scripts (`api.seed`, `api.openapi`) to what they call. Nothing reads them behind its back.
"""

from pathlib import Path

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

ROOT = Path(__file__).resolve().parent.parent
PLACEHOLDER_SECRETS = {"", "change-me", "changeme", "secret", "dev"}
SECRET_FIELDS = (
    "assistant_token",
    "instruction_token",
    "admin_token",
    "dob_hash_key",
    "chat_token",
    "cookie_key",
)


class Settings(BaseSettings):
    """Configuration of the API; every field maps to a GUICHET_* variable unless noted."""

    model_config = SettingsConfigDict(env_prefix="GUICHET_", env_file=ROOT / ".env", extra="ignore")

    env: str = "development"
    database_url: str = Field(
        default=f"sqlite:///{ROOT / 'var' / 'guichet.db'}",
        validation_alias="DATABASE_URL",
    )
    assistant_token: str = ""
    instruction_token: str = ""
    admin_token: str = ""
    dob_hash_key: str = ""
    fixture_path: Path = ROOT / "api" / "fixtures" / "demo_dossiers.yaml"
    # Labels and usual days per status (guichet/catalogue.py reads it).
    catalogue_path: Path = ROOT / "reference" / "procedures.yaml"
    # Overrides of the catalogue's usual days per status, e.g. {"en_instruction": 45}.
    delais_normaux_jours: dict[str, int] = {}
    web_dir: Path = ROOT / "web"
    cors_origins: list[str] = ["http://127.0.0.1:8000", "http://localhost:8000"]
    # --- Chat door (api/routers/chat.py): the only public way to the assistant.
    # Rasa's REST-like channel of ours, on loopback; the door holds its token. Several Rasa
    # replicas: their URLs separated by commas (api/chat_door.py:replica_order).
    rasa_url: str = "http://127.0.0.1:5005"
    chat_token: str = ""
    # Signs the conversation cookie; a browser cannot forge or choose its conversation id.
    cookie_key: str = ""
    chat_max_message_chars: int = Field(default=1000, ge=10)
    chat_per_conversation_per_minute: int = Field(default=20, ge=1)
    chat_per_address_per_minute: int = Field(default=60, ge=1)
    # POST /chat/tts: the door reads an answer aloud through the voice gateway's /tts
    # (voice/web.py), holding the gateway's token; empty URL = reading aloud is off (503).
    voice_url: str = ""
    voice_web_token: str = ""
    chat_tts_max_chars: int = Field(default=600, ge=10)
    # --- Retention (api/retention.py): what is kept, and for how long.
    tracker_db_url: str = f"sqlite:///{ROOT / 'var' / 'rasa_tracker.db'}"
    retention_days: int = Field(default=30, ge=1)
    retention_interval_seconds: int = Field(default=3600, ge=10)
    # --- Attempt limits of the dossier lookup (api/ratelimit.py, docs/limits.md). Counters are
    # shared by every worker: in the database, or in Redis when redis_url is set.
    redis_url: str = ""
    redis_prefix: str = "guichet"
    # Floods (moving windows of the `limits` library, in memory or in Redis): lookups per
    # minute per asker address, and per conversation.
    lookup_asker_per_minute: int = Field(default=30, ge=1)
    lookup_conversation_per_minute: int = Field(default=10, ge=1)
    # Wrong dates from one asker on one number: this many free, then a delay before the next
    # try that starts at lookup_first_delay_seconds and doubles up to lookup_max_delay_seconds.
    lookup_free_failures: int = Field(default=3, ge=1)
    lookup_first_delay_seconds: int = Field(default=60, ge=1)
    lookup_max_delay_seconds: int = Field(default=3600, ge=1)
    # Wrong dates from one asker across numbers, per window (enumeration).
    lookup_asker_max_failures: int = Field(default=20, ge=1)
    # Wrong dates on one number from every asker, per window, past which the number is under
    # attack: an asker that already failed on it may no longer try it.
    lookup_numero_attack_failures: int = Field(default=30, ge=1)
    # How long failures are remembered: the window of the two limits above, the life of a
    # (asker, number) counter after its last failure, and of an attack after its last failure.
    lookup_failure_memory_seconds: int = Field(default=86_400, ge=60)
    max_body_bytes: int = Field(default=16 * 1024, ge=1024)

    @model_validator(mode="after")
    def refuse_placeholder_secrets(self) -> "Settings":
        """Outside development, a missing or placeholder secret is a configuration error."""
        if self.env == "development":
            return self
        weak = [
            name
            for name in SECRET_FIELDS
            if getattr(self, name).strip().lower() in PLACEHOLDER_SECRETS
            or len(getattr(self, name)) < 16
        ]
        if weak:
            names = ", ".join(f"GUICHET_{name.upper()}" for name in weak)
            raise ValueError(f"missing or placeholder secrets outside development: {names}")
        return self
