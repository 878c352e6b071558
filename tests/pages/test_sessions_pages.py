"""The overview and session pages in a real browser, against real daphne, worker, tmux and the fake agent."""

import json

import pytest
from playwright.sync_api import expect

from tests.pages.conftest import WIDTHS, wait_for
from tests.sessions_app.conftest import received_prompts

pytestmark = [pytest.mark.browser, pytest.mark.integration, pytest.mark.timeout(90)]


def start_session(page, name: str) -> None:
    page.goto("/")
    form = page.locator("form[action='/sessions/new']")
    form.get_by_label("Name").fill(name)
    form.get_by_label("Profile").select_option("fake")
    form.get_by_role("button", name="Start").click()
    expect(page.locator("#flash")).to_contain_text(f"Session {name} started")


def test_a_session_started_from_the_page_goes_busy_then_idle_live(page, stack, screenshot):
    start_session(page, "alpha")
    card = page.locator("#card-alpha")
    # the card arrives over the page websocket, and the worker's verdict follows it
    expect(card).to_have_attribute("data-status", "idle", timeout=15_000)
    expect(card.locator(".badge")).to_contain_text("idle")
    expect(page.locator("#tail-alpha")).to_contain_text("? for shortcuts")
    expect(page.locator("#live-status")).to_have_text("live")

    card.get_by_role("link", name="Open").click()
    expect(page).to_have_url(f"{stack.url}/sessions/alpha/")
    expect(page.locator("#screen")).to_contain_text("Fake Agent")
    page.get_by_label("Message to alpha").fill("work:2 hello from the page")
    page.get_by_role("button", name="Send").click()
    head = page.locator("#session-head")
    expect(head).to_have_attribute("data-status", "busy", timeout=10_000)
    expect(head.locator(".badge")).to_contain_text("busy")
    expect(page.locator("#screen")).to_contain_text("Fake reply to prompt 1", timeout=10_000)
    expect(page.locator("#outbox")).to_contain_text("delivered")
    expect(head).to_have_attribute("data-status", "idle", timeout=10_000)
    expect(page.locator("#history")).to_contain_text("busy")
    assert received_prompts(stack.project.log) == ["work:2 hello from the page"]
    screenshot(page, "session")
    page.goto("/")
    screenshot(page, "overview")


def test_a_permission_dialog_is_answered_from_the_page(page, stack, screenshot):
    start_session(page, "asker")
    expect(page.locator("#card-asker")).to_have_attribute("data-status", "idle", timeout=15_000)
    page.goto("/sessions/asker/")
    page.get_by_label("Message to asker").fill("ask:rm x")
    page.get_by_label("Message to asker").press("Control+Enter")
    head = page.locator("#session-head")
    expect(head).to_have_attribute("data-status", "waiting", timeout=10_000)
    dialog = page.locator("#dialog")
    expect(dialog.get_by_role("button", name="1 Yes")).to_be_visible()
    # the tab title, the top bar and a desktop notice say that someone waits
    expect(page).to_have_title("(1) asker · Chorus")
    expect(page.locator("#needs-human")).to_contain_text("1 needs you")
    wait_for(lambda: page.evaluate("window.__notices").__len__() == 1, what="a desktop notice")
    assert page.evaluate("window.__notices")[0]["title"] == "asker needs you"
    screenshot(page, "session-waiting")
    page.set_viewport_size({"width": WIDTHS["phone"][0], "height": WIDTHS["phone"][1]})
    # on a phone the question comes before the screen, in the first view
    top = "e => e.getBoundingClientRect().top + window.scrollY"
    assert dialog.evaluate(top) < page.locator("#screen").evaluate(top)
    assert dialog.evaluate("e => e.getBoundingClientRect().bottom + window.scrollY") < WIDTHS["phone"][1]
    page.set_viewport_size({"width": WIDTHS["laptop"][0], "height": WIDTHS["laptop"][1]})

    dialog.get_by_role("button", name="1 Yes").click()
    expect(head).to_have_attribute("data-status", "busy", timeout=10_000)
    expect(page.locator("#dialog button")).to_have_count(0)
    expect(page.locator("#screen")).to_contain_text("Bash(rm)")
    expect(head).to_have_attribute("data-status", "idle", timeout=10_000)
    expect(page).to_have_title("asker · Chorus")
    answers = [json.loads(line) for line in stack.project.log.read_text().splitlines()]
    assert {"event": "permission", "answer": "yes", "command": "rm"}.items() <= next(
        a for a in answers if a.get("event") == "permission"
    ).items()


def test_a_change_made_by_a_command_in_another_process_appears_on_the_open_page(page, stack, screenshot):
    page.goto("/")
    expect(page.locator("#live-status")).to_have_text("live")
    stack.manage("sessions", "new", "cmdline", "--profile", "fake")
    card = page.locator("#section-live #card-cmdline")
    expect(card).to_be_visible(timeout=15_000)
    expect(card).to_have_attribute("data-status", "idle", timeout=15_000)
    stack.manage("sessions", "kill", "cmdline")
    expect(page.locator("#section-ended #card-cmdline")).to_be_visible(timeout=15_000)
    expect(page.locator("#section-ended #card-cmdline .badge")).to_contain_text("killed")
    expect(page.locator("#status-counts")).to_contain_text("1 ended")

    page.goto("/events/")
    expect(page.locator("#event-rows")).to_contain_text("SessionKilled")
    stack.manage("sessions", "new", "later", "--profile", "shell")
    created = page.locator("#event-rows tbody tr", has_text="session:later").filter(has_text="SessionCreated")
    expect(created).to_have_count(1, timeout=15_000)
    page.get_by_role("button", name="Verify the hash chain").click()
    expect(page.locator("#verify-result")).to_contain_text("the chain holds")
    screenshot(page, "events")
