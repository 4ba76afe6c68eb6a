"""The developer entry points: set-up secrets, training fingerprint, port checks, generation."""

import socket
from datetime import date
from pathlib import Path

import pytest
from dotenv import dotenv_values

from api import openapi
from scripts import ensure_env, generate_domain, nlu_report, train
from scripts.services import Ports, Stack, StackError, build_services, local_env


def test_env_file_gets_missing_secrets_and_keeps_existing(tmp_path: Path) -> None:
    path = tmp_path / ".env"
    path.write_text("GUICHET_ADMIN_TOKEN=keep-me\n", encoding="utf-8")
    ensure_env.main(path)
    values = dotenv_values(path)
    assert values["GUICHET_ADMIN_TOKEN"] == "keep-me"
    for key in ensure_env.SECRET_KEYS:
        assert len(values[key]) >= 7
    assert values["GUICHET_ASSISTANT_TOKEN"] != values["GUICHET_DOB_HASH_KEY"]
    before = path.read_text(encoding="utf-8")
    ensure_env.main(path)
    assert path.read_text(encoding="utf-8") == before


def test_an_empty_environment_value_does_not_hide_the_env_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / ".env"
    path.write_text("GUICHET_ACTIONS_TOKEN=from-file\nGUICHET_ADMIN_TOKEN=from-file\n")
    monkeypatch.setenv("GUICHET_ACTIONS_TOKEN", "")  # as the Makefile exports it
    monkeypatch.setenv("GUICHET_ADMIN_TOKEN", "from-environment")
    monkeypatch.setenv("GUICHET_SOMETHING_EMPTY", "")
    env = local_env(path)
    assert env["GUICHET_ACTIONS_TOKEN"] == "from-file"
    assert env["GUICHET_ADMIN_TOKEN"] == "from-environment"
    assert env["GUICHET_SOMETHING_EMPTY"] == ""


def make_training_inputs(root: Path) -> None:
    """One small file for each input the fingerprint covers."""
    for name in train.TRAINING_INPUTS:
        target = root / name
        if "." in Path(name).name:
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text("a", encoding="utf-8")
        else:
            target.mkdir(parents=True, exist_ok=True)
            (target / "x.yml").write_text("a", encoding="utf-8")


def test_fingerprint_changes_with_training_data(tmp_path: Path) -> None:
    make_training_inputs(tmp_path)
    first = train.fingerprint(tmp_path)
    assert train.fingerprint(tmp_path) == first
    (tmp_path / "assistant/data/x.yml").write_text("b", encoding="utf-8")
    assert train.fingerprint(tmp_path) != first


def test_fingerprint_follows_the_nlu_component_but_not_its_bytecode(tmp_path: Path) -> None:
    make_training_inputs(tmp_path)
    component = tmp_path / "assistant/nlu/classifier.py"
    component.write_text("C = 1", encoding="utf-8")
    first = train.fingerprint(tmp_path)
    (component.parent / "__pycache__").mkdir()
    (component.parent / "__pycache__/classifier.cpython-310.pyc").write_bytes(b"\x00")
    assert train.fingerprint(tmp_path) == first
    component.write_text("C = 2", encoding="utf-8")
    assert train.fingerprint(tmp_path) != first


def test_a_taken_port_is_reported_before_anything_starts(tmp_path: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        services = build_services(Ports(api=port, actions=1, rasa=2), {}, log_dir=tmp_path)
        with pytest.raises(StackError, match=f"Le port {port}"):
            Stack(services[:1]).check_ports()
        assert services[0].process is None


def test_generated_domain_is_up_to_date() -> None:
    for path, content in generate_domain.render().items():
        assert path.read_text(encoding="utf-8") == content, path


def _report(f1_by_intent: dict[str, float]) -> dict:
    report = {
        name: {"precision": f1, "recall": f1, "f1-score": f1, "support": 10, "confused_with": {}}
        for name, f1 in f1_by_intent.items()
    }
    report["macro avg"] = {"f1-score": sum(f1_by_intent.values()) / len(f1_by_intent)}
    return report


def test_nlu_report_says_whether_both_goals_hold() -> None:
    heldout = _report({"greet": 0.7, "goodbye": 0.6})
    met = nlu_report.render(_report({"greet": 0.96, "goodbye": 0.86}), heldout, date(2026, 1, 2))
    assert "Goals met" in met and "Macro-F1: 0.910" in met and "`goodbye`" in met
    weak = nlu_report.render(_report({"greet": 1.0, "goodbye": 0.79}), heldout, date(2026, 1, 2))
    assert "Goals NOT met" in weak, "macro-F1 0.895 and an intent under 0.80 miss both goals"
    assert "Macro-F1: 0.650" in weak, "the held-out macro-F1 is reported"


def test_committed_openapi_schema_is_up_to_date_and_checked(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert openapi.main(["--check"]) == 0, "run `make openapi` and commit api/openapi.json"
    copy = tmp_path / "openapi.json"
    assert openapi.main(["--path", str(copy)]) == 0
    assert openapi.main(["--check", "--path", str(copy)]) == 0
    assert openapi.render(openapi.build_schema()) == copy.read_text(encoding="utf-8"), "stable"
    copy.write_text(copy.read_text(encoding="utf-8").replace('"statut"', '"etat"'))
    assert openapi.main(["--check", "--path", str(copy)]) == 1
    assert "out of date" in capsys.readouterr().err
