"""Where things are in the repository, and the environment every Rasa process gets."""

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RASA_VENV = ROOT / ".venv-rasa"
RASA_BIN = RASA_VENV / "bin" / "rasa"
RASA_PYTHON = RASA_VENV / "bin" / "python"
DEV_PYTHON = ROOT / ".venv" / "bin" / "python"
MODEL_DIR = ROOT / "assistant" / "models"
MODEL_PATH = MODEL_DIR / "guichet.tar.gz"
VAR_DIR = ROOT / "var"
LOG_DIR = ROOT / "logs"
# Rasa's and the action server's logging: personal data masked in every record.
LOGGING_CONFIG = ROOT / "assistant" / "logging.yml"


def rasa_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    """The environment of Rasa commands: offline, quiet TensorFlow, project on the path."""
    env = dict(os.environ)
    env.update(
        {
            "RASA_TELEMETRY_ENABLED": "false",
            "TF_CPP_MIN_LOG_LEVEL": "2",
            "SQLALCHEMY_SILENCE_UBER_WARNING": "1",
            "PYTHONPATH": str(ROOT),
            # Rasa reads endpoints.yml for several commands; these are its defaults.
            "GUICHET_ACTION_SERVER_URL": env.get(
                "GUICHET_ACTION_SERVER_URL", "http://127.0.0.1:5055/webhook"
            ),
            "GUICHET_TRACKER_DB_URL": env.get(
                "GUICHET_TRACKER_DB_URL", f"sqlite:///{VAR_DIR / 'rasa_tracker.db'}"
            ),
            # Empty: the in-memory lock store of one Rasa process (docs/scaling.md).
            "GUICHET_LOCK_STORE_URL": env.get("GUICHET_LOCK_STORE_URL", ""),
            # Expanded in endpoints.yml even by commands that call no action (rasa test).
            "GUICHET_ACTIONS_TOKEN": env.get("GUICHET_ACTIONS_TOKEN", ""),
        }
    )
    env.update(extra or {})
    return env
