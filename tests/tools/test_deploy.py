"""deploy/ gives each component what it reads, and keeps secrets out of the files.

`make lint` checks the files against the compose and Kubernetes schemas; this checks what the
schemas cannot: that every variable Rasa expands in endpoints.yml and credentials.yml is set,
that the API gets each secret it refuses to start without, and that no secret is written down.
"""

import re
from pathlib import Path

import pytest
import yaml

from api.config import SECRET_FIELDS
from scripts.ensure_env import SECRET_KEYS
from scripts.paths import ROOT

DEPLOY = ROOT / "deploy"
# Values that carry a password: as secret as the tokens.
SECRET_URLS = {
    "DATABASE_URL",
    "GUICHET_TRACKER_DB_URL",
    "GUICHET_LOCK_STORE_URL",
    "GUICHET_REDIS_URL",
}
SECRETS = set(SECRET_KEYS) | SECRET_URLS
API_NEEDS = {f"GUICHET_{name.upper()}" for name in SECRET_FIELDS} | {"DATABASE_URL"}
ACTIONS_NEED = {"GUICHET_ACTIONS_TOKEN", "GUICHET_ASSISTANT_TOKEN", "GUICHET_API_URL"}


def expanded_variables(*files: str) -> set[str]:
    """The ${VAR} Rasa expands in its configuration files (and refuses to start without)."""
    found: set[str] = set()
    for name in files:
        found |= set(re.findall(r"\$\{(\w+)\}", (ROOT / name).read_text()))
    return found


RASA_NEEDS = expanded_variables("endpoints.yml", "credentials.yml") | {"GUICHET_TRACKER_KEY"}


def compose() -> dict:
    return yaml.safe_load((DEPLOY / "compose.yaml").read_text())["services"]


def manifests() -> list[dict]:
    files = sorted((DEPLOY / "k8s").glob("*.yaml")) + sorted((DEPLOY / "k8s").glob("*/*.yaml"))
    return [doc for path in files for doc in yaml.safe_load_all(path.read_text()) if doc]


def k8s_containers() -> dict[str, tuple[set[str], list[dict]]]:
    """Container name → (variables it gets, its env entries), the ConfigMap's keys included."""
    config = next(d for d in manifests() if d["kind"] == "ConfigMap")["data"]
    containers = {}
    for doc in manifests():
        if doc["kind"] not in ("Deployment", "Job"):
            continue
        for container in doc["spec"]["template"]["spec"]["containers"]:
            env = container.get("env", [])
            names = {entry["name"] for entry in env}
            if {"configMapRef": {"name": "guichet"}} in container.get("envFrom", []):
                names |= set(config)
            containers[container["name"]] = (names, env)
    return containers


def test_rasa_expands_nothing_the_rasa_containers_lack():
    assert {"GUICHET_TRACKER_DB_URL", "GUICHET_LOCK_STORE_URL", "GUICHET_CHAT_TOKEN"} <= RASA_NEEDS
    services = compose()
    for name in ("rasa-1", "rasa-2"):
        assert set(services[name]["environment"]) >= RASA_NEEDS, name
    assert k8s_containers()["rasa"][0] >= RASA_NEEDS


@pytest.mark.parametrize("name", ["api", "migrate"])
def test_the_api_gets_every_secret_it_needs_in_compose(name):
    assert set(compose()[name]["environment"]) >= API_NEEDS


def test_each_kubernetes_container_gets_what_it_reads():
    containers = k8s_containers()
    assert containers["api"][0] >= API_NEEDS
    assert containers["migrate"][0] >= API_NEEDS
    assert containers["actions"][0] >= ACTIONS_NEED
    assert set(compose()["actions"]["environment"]) >= ACTIONS_NEED


def test_no_secret_is_written_in_the_files():
    for service, definition in compose().items():
        for name, value in (definition.get("environment") or {}).items():
            value = str(value)
            if name in SECRET_URLS and "@" not in value:
                continue  # a URL with no password (compose's Redis on its own network)
            if name in SECRETS or name == "POSTGRES_PASSWORD":
                # Only placeholders the operator's deploy/.env fills; compose stops without them.
                assert re.search(r"\$\{\w+:\?[^}]*\}", value), (service, name)
                assert not re.search(r"://[^:/]*:(?!\$\{)[^@]+@", value), (service, name)
    for name, (_names, env) in k8s_containers().items():
        for entry in env:
            if entry["name"] in SECRETS:
                assert entry["valueFrom"]["secretKeyRef"]["name"] == "guichet", (name, entry)
    config = next(d for d in manifests() if d["kind"] == "ConfigMap")["data"]
    assert not SECRETS & set(config)
    secret = next(d for d in manifests() if d["kind"] == "Secret")["stringData"]
    assert SECRETS - {"GUICHET_ACTION_SERVER_URL"} <= set(secret)
    for value in secret.values():
        assert value == "change-me" or ":change-me@" in value
    template = (DEPLOY / "env.example").read_text()
    assert all(
        line.endswith("=change-me") or line.endswith("=")
        for line in template.splitlines()
        if line and not line.startswith("#")
    )


def test_the_images_leave_local_secrets_and_state_out():
    for dockerfile in ("Dockerfile.rasa", "Dockerfile.api"):
        ignored = (DEPLOY / f"{dockerfile}.dockerignore").read_text().splitlines()
        assert {".env", "**/.env", ".venv", ".venv-rasa", "var", "logs", ".git"} <= set(ignored)
    assert "assistant/models" not in Path(DEPLOY / "Dockerfile.rasa.dockerignore").read_text()
