"""scripts/voice_model.py, offline: a small zip built here stands for the Vosk model."""

from __future__ import annotations

import functools
import hashlib
import http.server
import threading
import zipfile
from pathlib import Path

import pytest

from scripts import voice_model


@pytest.fixture
def model_zip(tmp_path: Path) -> tuple[Path, str]:
    """A zip laid out like vosk-model-small-fr-0.22.zip, and its SHA-256."""
    path = tmp_path / "downloads" / "vosk-model-small-fr-0.22.zip"
    path.parent.mkdir()
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("vosk-model-small-fr-0.22/am/final.mdl", b"acoustic model")
        archive.writestr("vosk-model-small-fr-0.22/conf/model.conf", b"--sample-frequency=16000\n")
        archive.writestr("vosk-model-small-fr-0.22/graph/Gr.fst", b"grammar")
    return path, hashlib.sha256(path.read_bytes()).hexdigest()


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


def test_a_local_zip_with_the_right_digest_is_installed(tmp_path, model_zip, capsys):
    zip_path, digest = model_zip
    dest = tmp_path / "models" / "vosk-model-small-fr-0.22"
    assert voice_model.main([str(zip_path), "--sha256", digest, "--dest", str(dest)]) == 0
    assert (dest / "am" / "final.mdl").read_bytes() == b"acoustic model"
    assert leftovers(dest.parent) == ["vosk-model-small-fr-0.22"]  # no temporary folder left
    assert "Modèle installé" in capsys.readouterr().err


def test_the_zip_can_come_from_vosk_zip(tmp_path, model_zip, monkeypatch):
    zip_path, digest = model_zip
    monkeypatch.setenv("VOSK_ZIP", str(zip_path))
    dest = tmp_path / "models" / "fr"
    assert voice_model.main(["--sha256", digest, "--dest", str(dest)]) == 0
    assert (dest / "conf" / "model.conf").exists()


def test_a_wrong_digest_is_refused_and_nothing_is_left(tmp_path, model_zip, capsys):
    zip_path, _ = model_zip
    dest = tmp_path / "models" / "vosk-model-small-fr-0.22"
    assert voice_model.main([str(zip_path), "--sha256", "0" * 64, "--dest", str(dest)]) == 1
    assert not dest.exists()
    assert leftovers(dest.parent) == []
    assert "Empreinte SHA-256 incorrecte" in capsys.readouterr().err


def test_the_official_digest_is_the_default(tmp_path, model_zip, capsys):
    """The test zip is not the real model: the pinned digest refuses it."""
    zip_path, _ = model_zip
    dest = tmp_path / "models" / "fr"
    assert voice_model.main([str(zip_path), "--dest", str(dest)]) == 1
    assert voice_model.MODEL_SHA256 in capsys.readouterr().err


def test_an_unreachable_address_gives_a_clear_message(tmp_path, capsys):
    dest = tmp_path / "models" / "fr"
    # Port 9 (discard) on the loopback: nothing listens, the connection is refused at once.
    assert voice_model.main(["--url", "http://127.0.0.1:9/model.zip", "--dest", str(dest)]) == 1
    message = capsys.readouterr().err
    assert "Impossible de télécharger le modèle" in message
    assert "VOSK_ZIP=" in message
    assert not dest.exists() and leftovers(dest.parent) == []


def test_a_download_is_checked_then_installed(tmp_path, model_zip, capsys):
    zip_path, digest = model_zip
    handler = functools.partial(
        http.server.SimpleHTTPRequestHandler, directory=str(zip_path.parent)
    )
    handler.log_message = lambda *args: None  # type: ignore[method-assign]
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_port}/{zip_path.name}"
        dest = tmp_path / "models" / "fr"
        assert voice_model.main(["--url", url, "--sha256", digest, "--dest", str(dest)]) == 0
    finally:
        server.shutdown()
        server.server_close()
    assert (dest / "graph" / "Gr.fst").exists()
    assert leftovers(dest.parent) == ["fr"]
    assert "%" in capsys.readouterr().err  # progress was shown


def test_an_installed_model_is_kept_unless_forced(tmp_path, model_zip):
    zip_path, digest = model_zip
    dest = tmp_path / "models" / "fr"
    (dest / "am").mkdir(parents=True)
    (dest / "am" / "final.mdl").write_bytes(b"old")
    assert voice_model.main([str(zip_path), "--sha256", digest, "--dest", str(dest)]) == 0
    assert (dest / "am" / "final.mdl").read_bytes() == b"old"
    args = [str(zip_path), "--sha256", digest, "--dest", str(dest), "--force"]
    assert voice_model.main(args) == 0
    assert (dest / "am" / "final.mdl").read_bytes() == b"acoustic model"
    assert leftovers(dest.parent) == ["fr"]


def test_a_zip_without_a_model_is_refused(tmp_path):
    path = tmp_path / "other.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("readme.txt", "not a model")
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    dest = tmp_path / "models" / "fr"
    assert voice_model.main([str(path), "--sha256", digest, "--dest", str(dest)]) == 1
    assert not dest.exists() and leftovers(dest.parent) == []
