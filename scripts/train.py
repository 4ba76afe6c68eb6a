"""Train the Rasa model only when its inputs changed: `python -m scripts.train [--force]`.

The fingerprint covers config.yml, the domain, the training data, Guichet's NLU component and
the locked packages of the Rasa environment; it is stored next to the model.
"""

import argparse
import hashlib
import subprocess
import sys
from pathlib import Path

from scripts.paths import MODEL_DIR, MODEL_PATH, RASA_BIN, ROOT, rasa_env

TRAINING_INPUTS = (
    "config.yml",
    "assistant/domain",
    "assistant/data",
    "assistant/nlu",  # the intent classifier's code decides what the model holds
    "requirements/rasa.lock",
)
FINGERPRINT_PATH = MODEL_DIR / "guichet.fingerprint"


def fingerprint(root: Path = ROOT) -> str:
    """Hash the paths and contents of every training input, in a stable order."""
    digest = hashlib.sha256()
    for name in TRAINING_INPUTS:
        path = root / name
        files = sorted(_sources(path)) if path.is_dir() else [path]
        for file in files:
            digest.update(str(file.relative_to(root)).encode())
            digest.update(file.read_bytes())
    return digest.hexdigest()


def _sources(directory: Path) -> list[Path]:
    """The files under a directory, without the bytecode Python writes when it imports them."""
    return [p for p in directory.rglob("*") if p.is_file() and "__pycache__" not in p.parts]


def is_up_to_date() -> bool:
    """True when a model exists and was trained from the current inputs."""
    return (
        MODEL_PATH.exists()
        and FINGERPRINT_PATH.exists()
        and FINGERPRINT_PATH.read_text().strip() == fingerprint()
    )


def train() -> None:
    """Run `rasa train` with explicit paths, showing its progress."""
    MODEL_DIR.mkdir(parents=True, exist_ok=True)
    command = [
        str(RASA_BIN),
        "train",
        "--config", "config.yml",
        "--domain", "assistant/domain",
        "--data", "assistant/data",
        "--out", str(MODEL_DIR),
        "--fixed-model-name", MODEL_PATH.name.removesuffix(".tar.gz"),
    ]  # fmt: skip
    print("[train] Entraînement du modèle Rasa (quelques minutes)…", flush=True)
    result = subprocess.run(command, cwd=ROOT, env=rasa_env())
    if result.returncode != 0:
        sys.exit(f"[train] rasa train failed with exit code {result.returncode}")
    FINGERPRINT_PATH.write_text(fingerprint())


def main() -> None:
    parser = argparse.ArgumentParser(description="Train the Rasa model if its inputs changed.")
    parser.add_argument("--force", action="store_true", help="train even if nothing changed")
    args = parser.parse_args()
    if not args.force and is_up_to_date():
        print(f"[train] Modèle à jour : {MODEL_PATH.relative_to(ROOT)}")
        return
    train()


if __name__ == "__main__":
    main()
