"""The chat page in a real browser (Debian's Chromium), over the real stack.

Playwright drives the system Chromium; it never downloads a browser of its own.
"""

import os
import shutil
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

from api.chat_door import DoorMessages
from tests.e2e.conftest import RunningStack

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
# Chromium's own background calls would be refused by a closed network, one by one.
CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if CHROMIUM is None:
        reason = "Chromium is not installed (Debian package chromium)"
        if os.environ.get("REQUIRE_SERVICES") == "1":
            pytest.fail(f"{reason} (REQUIRE_SERVICES=1)")
        pytest.skip(reason)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        yield browser
        browser.close()


def send(page: Page, message: str) -> None:
    page.get_by_label("Votre message").fill(message)
    page.get_by_role("button", name="Envoyer").click()


def bot_messages(page: Page):  # type: ignore[no-untyped-def]
    return page.locator("#conversation li.bot")


def test_a_person_checks_a_dossier_from_the_page(stack: RunningStack, browser: Browser) -> None:
    page = browser.new_context().new_page()
    page.goto(f"http://127.0.0.1:{stack.ports.api}/")

    send(page, "Où en est mon dossier ?")
    expect(bot_messages(page).last).to_contain_text("numéro")
    send(page, "2611000002")
    expect(bot_messages(page).last).to_contain_text("date de naissance")
    send(page, "04/07/1961")
    expect(page.locator("#conversation")).to_contain_text("justificatif de domicile")

    # The conversation id is the server's: scripts on the page cannot read or set it.
    assert page.evaluate("document.cookie") == ""
    cookies = page.context.cookies()
    assert [cookie["httpOnly"] for cookie in cookies] == [True]
    assert cookies[0]["sameSite"] == "Strict"


def test_a_new_visitor_starts_afresh(stack: RunningStack, browser: Browser) -> None:
    page = browser.new_context().new_page()
    page.goto(f"http://127.0.0.1:{stack.ports.api}/")
    send(page, "Où en est mon dossier ?")
    send(page, "2611000001")
    send(page, "12/03/1948")
    expect(page.locator("#conversation")).to_contain_text("instruction")

    page.get_by_role("button", name="Effacer l'écran et recommencer").click()
    expect(page.locator("#status")).to_have_text("Nouvelle conversation.")
    # Only the welcome again, for the next visitor.
    expect(page.locator("#conversation li.user")).to_have_count(0)
    expect(bot_messages(page)).to_have_count(len(WELCOME))
    expect(page.locator("#conversation")).not_to_contain_text("instruction")
    send(page, "répétez")
    expect(bot_messages(page).nth(len(WELCOME))).to_be_visible()
    expect(page.locator("#conversation")).not_to_contain_text("instruction")


# The welcome as the domain writes it (assistant/domain/porte.yml), served by the door.
WELCOME = DoorMessages().welcome()
CHOICES = [button["title"] for message in WELCOME for button in message.get("buttons", [])]


def test_the_page_opens_with_a_greeting_three_big_choices_and_the_phone(
    stack: RunningStack, browser: Browser
) -> None:
    page = browser.new_context().new_page()
    page.goto(f"http://127.0.0.1:{stack.ports.api}/")

    expect(bot_messages(page)).to_have_count(len(WELCOME))
    expect(bot_messages(page).first).to_contain_text("Bonjour")
    expect(page.locator("#conversation")).to_contain_text("34 00")
    assert len(CHOICES) == 3
    for title in CHOICES:
        choice = page.get_by_role("button", name=title, exact=True)
        expect(choice).to_be_visible()
        box = choice.bounding_box()
        assert box is not None and box["height"] >= 44 and box["width"] >= 44, title
    # Opening the page starts no conversation: no cookie until the person writes.
    assert page.context.cookies() == []


def test_the_choices_work_by_keyboard_in_reading_order(
    stack: RunningStack, browser: Browser
) -> None:
    page = browser.new_context().new_page()
    page.goto(f"http://127.0.0.1:{stack.ports.api}/")
    expect(bot_messages(page)).to_have_count(len(WELCOME))

    focused = []
    for _ in range(len(CHOICES) + 2 + len(WELCOME)):
        page.keyboard.press("Tab")
        focused.append(
            page.evaluate("document.activeElement.textContent || document.activeElement.id")
        )
    # The skip link, the three choices in the order they are written, each message's "Écouter"
    # (after its choices), then the message field.
    assert focused[1:] == [*CHOICES, *["Écouter"] * len(WELCOME), "message"], focused

    for _ in range(len(CHOICES) + len(WELCOME)):
        page.keyboard.press("Shift+Tab")
    assert page.evaluate("document.activeElement.textContent") == CHOICES[0]
    page.keyboard.press("Enter")
    expect(page.locator("#conversation li.user").last).to_contain_text(CHOICES[0])
    # The first choice is following a dossier: the assistant asks for its number.
    expect(bot_messages(page).last).to_contain_text("numéro")
    expect(page.get_by_label("Votre message")).to_be_focused()
