"""Install the French Vosk model: `python -m scripts.voice_model [zip] [--sha256 …] [--dest …]`.

From its official address when the internet is reachable, or from a local zip (an argument or
VOSK_ZIP=…), since kiosks are often offline. The zip is checked against its SHA-256 before
anything is extracted; it is extracted into a temporary folder beside the destination, then
renamed into place, so a half-installed model never exists. The gateway itself never
downloads anything.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import sys
import tempfile
import urllib.error
import urllib.request
import zipfile
from pathlib import Path

from voice.stt import DEFAULT_MODEL_PATH, model_path_from_env

MODEL_NAME = "vosk-model-small-fr-0.22"
MODEL_URL = f"https://alphacephei.com/vosk/models/{MODEL_NAME}.zip"
# SHA-256 of vosk-model-small-fr-0.22.zip (42,233,323 bytes): the digest several independent
# projects pin for MODEL_URL (e.g. a Yocto recipe's SRC_URI sha256sum) and the Rhasspy
# project's copy of the Vosk models shows. Not recomputed here (no internet on the machine
# that wrote this); --sha256 overrides it.
MODEL_SHA256 = "cabf6180e177eb9b3a9a9d43a437bd5e549f3a7d09525e5d69a3fed787be12ad"
CHUNK = 1 << 16
DOWNLOAD_TIMEOUT = 30  # seconds without an answer from the server


class InstallError(Exception):
    """A failure explained to the person running the script (in French)."""


def say(message: str) -> None:
    print(f"[voice-model] {message}", file=sys.stderr, flush=True)


def _progress(done: int, total: int | None) -> None:
    if total:
        print(
            f"\r[voice-model] {done / 1e6:6.1f} / {total / 1e6:.1f} Mo ({100 * done // total} %)",
            end="",
            file=sys.stderr,
            flush=True,
        )
    else:
        print(f"\r[voice-model] {done / 1e6:6.1f} Mo", end="", file=sys.stderr, flush=True)


def download(url: str, target: Path) -> None:
    """Download `url` to `target`, showing progress."""
    say(f"Téléchargement de {url}")
    try:
        with (
            urllib.request.urlopen(url, timeout=DOWNLOAD_TIMEOUT) as answer,
            target.open("wb") as out,
        ):
            length = answer.headers.get("Content-Length")
            total = int(length) if length and length.isdigit() else None
            done = 0
            while chunk := answer.read(CHUNK):
                out.write(chunk)
                done += len(chunk)
                _progress(done, total)
        print(file=sys.stderr)
    except (urllib.error.URLError, OSError, TimeoutError) as error:
        reason = getattr(error, "reason", error)
        raise InstallError(
            f"Impossible de télécharger le modèle depuis {url} ({reason}).\n"
            "Sans internet, copiez le fichier zip du modèle sur cette machine et donnez son "
            f"chemin : make voice-model VOSK_ZIP=/chemin/vers/{MODEL_NAME}.zip"
        ) from error


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as source:
        while chunk := source.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _model_root(folder: Path) -> Path:
    """The folder of the extracted zip that holds the model (am/ and conf/)."""
    for candidate in (folder, *sorted(p for p in folder.iterdir() if p.is_dir())):
        if (candidate / "am").is_dir() and (candidate / "conf").is_dir():
            return candidate
    raise InstallError("Ce zip ne contient pas de modèle Vosk (dossiers am/ et conf/ absents).")


def install(zip_path: Path, expected_sha256: str, dest: Path) -> None:
    """Check `zip_path`, extract it beside `dest`, then rename it into place."""
    say(f"Vérification de l'empreinte SHA-256 de {zip_path.name}…")
    actual = sha256_of(zip_path)
    if actual != expected_sha256.lower():
        raise InstallError(
            f"Empreinte SHA-256 incorrecte pour {zip_path} :\n  attendue {expected_sha256}\n"
            f"  obtenue  {actual}\nLe fichier est abîmé ou n'est pas le bon : rien n'a été "
            "installé. Retéléchargez-le, ou donnez l'empreinte publiée avec --sha256."
        )
    dest.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{dest.name}-", dir=dest.parent))
    try:
        say("Extraction…")
        try:
            with zipfile.ZipFile(zip_path) as archive:
                archive.extractall(staging)  # drops absolute paths and ".." from member names
        except zipfile.BadZipFile as error:
            raise InstallError(f"{zip_path} n'est pas un zip lisible ({error}).") from error
        model = _model_root(staging)
        old = dest.with_name(f".{dest.name}.old") if dest.exists() else None
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
            dest.rename(old)
        model.rename(dest)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Installe le modèle Vosk français.")
    parser.add_argument(
        "zip",
        nargs="?",
        default=os.environ.get("VOSK_ZIP") or None,
        help=f"zip du modèle déjà copié sur la machine (sinon : téléchargé depuis {MODEL_URL})",
    )
    parser.add_argument("--sha256", default=MODEL_SHA256, help="empreinte SHA-256 attendue du zip")
    parser.add_argument("--url", default=MODEL_URL, help="adresse de téléchargement")
    parser.add_argument(
        "--dest", type=Path, default=None, help="dossier du modèle (défaut : GUICHET_VOSK_MODEL)"
    )
    parser.add_argument("--force", action="store_true", help="réinstaller même s'il est là")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    dest: Path = (args.dest or model_path_from_env()).resolve()
    if (dest / "am").is_dir() and not args.force:
        say(f"Le modèle est déjà installé dans {dest} (--force pour le réinstaller).")
        return 0
    try:
        if args.zip:
            zip_path = Path(args.zip).expanduser()
            if not zip_path.is_file():
                raise InstallError(f"Fichier introuvable : {zip_path}")
            install(zip_path, args.sha256, dest)
        else:
            dest.parent.mkdir(parents=True, exist_ok=True)
            with tempfile.TemporaryDirectory(prefix=".download-", dir=dest.parent) as folder:
                zip_path = Path(folder) / f"{MODEL_NAME}.zip"
                download(args.url, zip_path)
                install(zip_path, args.sha256, dest)
    except InstallError as error:
        say(str(error))
        return 1
    say(f"Modèle installé dans {dest}.")
    if dest != DEFAULT_MODEL_PATH.resolve():
        say(f"Démarrez la passerelle vocale avec GUICHET_VOSK_MODEL={dest}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
