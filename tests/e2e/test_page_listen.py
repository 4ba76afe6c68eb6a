"""The page's "Écouter" button in a real browser, with the real API and the real voice gateway.

Only the two services it needs run (Rasa is not needed: the welcome comes from the door), so
this stays cheap; the server's French voice is real espeak-ng behind the gateway's token.
"""

import secrets
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, expect

from scripts.ensure_env import SECRET_KEYS
from scripts.services import Ports, StackError, build_services, running
from tests.e2e.conftest import free_port, free_udp_port
from tests.e2e.test_page import WELCOME, bot_messages, browser  # noqa: F401 (fixture)


@pytest.fixture(scope="module")
def api_and_voice(tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    """The API and the voice gateway as `make run` starts them; yields the API's port."""
    workdir: Path = tmp_path_factory.mktemp("listen")
    env = {
        "PATH": "/usr/bin:/bin",
        "HOME": str(Path.home()),
        "DATABASE_URL": f"sqlite:///{workdir / 'guichet.db'}",
        "GUICHET_ENV": "development",
        **{name: secrets.token_urlsafe(24) for name in SECRET_KEYS},
    }
    seed = subprocess.run([sys.executable, "-m", "api.seed"], env=env, capture_output=True)
    assert seed.returncode == 0, seed.stderr
    ports = Ports(
        api=free_port(), actions=free_port(), rasa=free_port(), voice=free_port(),
        sip=free_udp_port(),
    )  # fmt: skip
    services = build_services(ports, env, log_dir=workdir / "logs", var_dir=workdir)
    try:
        with running([service for service in services if service.name in {"api", "voice"}]):
            yield ports.api
    except StackError as error:
        pytest.fail(str(error))


def test_a_person_listens_to_an_answer_by_keyboard(api_and_voice: int, browser: Browser) -> None:  # noqa: F811
    page = browser.new_context().new_page()
    page.goto(f"http://127.0.0.1:{api_and_voice}/")
    expect(bot_messages(page)).to_have_count(len(WELCOME))

    listen = page.get_by_role("button", name="Écouter ce message")
    expect(listen).to_have_count(len(WELCOME))
    expect(listen.first).to_have_text("Écouter")
    # Reachable by keyboard: Tab until the first "Écouter" has the focus.
    for _ in range(12):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.getAttribute('aria-label')") == (
            "Écouter ce message"
        ):
            break
    expect(listen.first).to_be_focused()

    with page.expect_response(
        lambda response: response.url.endswith("/chat/tts") and response.status == 200
    ) as spoken:
        page.keyboard.press("Enter")
    response = spoken.value
    assert response.headers["content-type"] == "audio/wav"
    assert response.request.post_data_json["text"] == WELCOME[0]["text"]
    # Chromium hands the audio to the player and keeps no body for Playwright: its length says
    # it is some seconds of 16 kHz speech, the player says it is playable.
    assert int(response.headers["content-length"]) > 16_000
    stop = page.get_by_role("button", name="Arrêter la lecture")
    expect(stop).to_have_attribute("aria-pressed", "true")
    expect(stop).to_be_focused()
    # A second press stops it.
    page.keyboard.press("Enter")
    expect(listen.first).to_have_attribute("aria-pressed", "false")
    expect(page.locator("#status")).to_have_text("")


def test_without_the_voice_the_button_says_so(api_and_voice: int, browser: Browser) -> None:  # noqa: F811
    page = browser.new_context().new_page()
    # The door's answer when the gateway is down (tested against the door in tests/api).
    page.route(
        "**/chat/tts",
        lambda route: route.fulfill(
            status=503, json={"detail": "La lecture à voix haute n'est pas disponible."}
        ),
    )
    page.goto(f"http://127.0.0.1:{api_and_voice}/")
    listen = page.get_by_role("button", name="Écouter ce message").first
    listen.click()
    expect(listen).to_be_disabled()
    unavailable = "La lecture à voix haute n'est pas disponible pour le moment."
    expect(listen).to_have_attribute("title", unavailable)
    expect(page.locator("#status")).to_have_text(unavailable)
