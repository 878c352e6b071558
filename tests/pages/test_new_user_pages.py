"""What a new user trips over on the sessions pages (issue 17, items 1-3, 5-8), in a real browser against real
daphne, worker, tmux and the fake agent: profiles that cannot start, names, long names, restart, remove, an agent
that dies at once, the terminal mirror of a fresh shell, a task for a shell, and a server that is down."""

import json
import re
import shutil

import pytest
from playwright.sync_api import expect

from sessions_app.agents import BUILTIN_PROFILES, DEFAULT_PROFILE

pytestmark = [pytest.mark.browser, pytest.mark.integration, pytest.mark.timeout(300)]

LONG_NAME = "a-forty-character-session-name-for-cards"  # the longest allowed
DIES = ["sh", "-c", "echo 'Error: OPENAI_API_KEY is not set'; sleep 0.5; exit 3"]


@pytest.fixture
def profiles(stack):
    toml = stack.project.root / "chorus.toml"
    toml.write_text(
        toml.read_text()
        + '\n[profiles.ghost]\ncommand = ["no-such-agent-cli"]\nagent = true\n'
        + f"\n[profiles.quitter]\ncommand = {json.dumps(DIES)}\nagent = true\n"
    )


def expected_default() -> str:
    """The built-in default if its program is here, else the first installed agent by name (`fake` on a machine
    without the real CLIs)."""
    if shutil.which(BUILTIN_PROFILES[DEFAULT_PROFILE].command[0]):
        return DEFAULT_PROFILE
    installed = [name for name, p in BUILTIN_PROFILES.items() if p.agent and shutil.which(p.command[0])]
    return min([*installed, "fake"])


def start(page, name: str, profile: str) -> None:
    form = page.locator("form[action='/sessions/new']")
    form.get_by_label("Name").fill(name)
    form.get_by_label("Profile").select_option(profile)
    form.get_by_role("button", name="Start").click()


def test_starting_restarting_killing_and_removing_from_the_overview(page, stack, profiles, screenshot):
    asked: list[str] = []
    page.on("dialog", lambda dialog: (asked.append(dialog.message), dialog.accept()))
    page.goto("/")
    profile = page.get_by_label("Profile")
    expect(profile).to_have_value(expected_default())
    expect(profile.locator("option[value=ghost]")).to_have_text("ghost (not installed)")
    expect(profile.locator("option[value=shell]")).to_have_text("shell (not an agent)")

    start(page, "reviewer", "ghost")
    flash = page.locator("#flash")
    expect(flash).to_contain_text(
        "✕ no-such-agent-cli is not installed (not on PATH); install it or pick another profile"
    )
    expect(flash).not_to_contain_text("started")
    expect(page.locator("#card-reviewer")).to_have_count(0)

    name = page.get_by_label("Name")
    expect(name).to_have_attribute("title", "Use 1-40 letters, digits, '-' or '_', starting with a letter or digit.")
    page.locator("form[action='/sessions/new']").evaluate("form => { form.noValidate = true; }")
    start(page, "bad name", "fake")
    expect(page.locator("#flash")).to_contain_text(
        "invalid session name 'bad name': use 1-40 letters, digits, '-' or '_', starting with a letter or digit"
    )

    start(page, LONG_NAME, "fake")
    card = page.locator(f"#card-{LONG_NAME}")
    expect(card).to_have_attribute("data-status", "idle", timeout=45_000)
    for width in (1280, 390):
        page.set_viewport_size({"width": width, "height": 860})
        # nothing of the card sticks out of it: not its title, not its buttons
        overflow = card.evaluate(
            "c => [c, ...c.querySelectorAll('h3, a, button, .profile')].filter(e => {"
            " const r = e.getBoundingClientRect(), o = c.getBoundingClientRect();"
            " return e.scrollWidth > e.clientWidth + 1 || r.right > o.right + 1 || r.left < o.left - 1; })"
            ".map(e => e.outerHTML.slice(0, 80))"
        )
        assert overflow == [], (width, overflow)
    page.set_viewport_size({"width": 1280, "height": 860})

    restart = card.get_by_role("button", name="Restart")
    restart.click()
    assert asked[-1] == f"Restart {LONG_NAME}? Its agent is stopped and started again."
    expect(card.locator("button[aria-busy=true]")).to_have_text("Restarting…")
    expect(page.locator("#flash")).to_contain_text(f"Session {LONG_NAME} restarted.", timeout=45_000)
    expect(card).to_have_attribute("data-status", "idle", timeout=45_000)
    screenshot(page, "overview-long-name")

    card.get_by_role("button", name="Kill").click()
    ended = page.locator(f"#section-ended #card-{LONG_NAME}")
    expect(ended.locator(".badge")).to_contain_text("killed", timeout=45_000)
    expect(page.locator("#status-counts")).to_contain_text("1 ended")
    ended.get_by_role("button", name="Remove").click()
    assert asked[-1] == f"Remove {LONG_NAME}? Its name becomes free; its history stays in the event log."
    expect(page.locator(f"#card-{LONG_NAME}")).to_have_count(0, timeout=15_000)
    expect(page.locator("#flash")).to_contain_text(f"Session {LONG_NAME} removed")

    # the server goes away: an action says it could not be sent, instead of nothing at all
    stack.server.process.terminate()
    stack.server.process.wait(timeout=10)
    start(page, "after", "fake")
    expect(page.locator("#flash .not-sent")).to_contain_text("The action could not be sent")
    screenshot(page, "overview-server-down")


def test_an_early_death_a_fresh_shell_and_a_task_for_a_shell(page, stack, profiles, screenshot):
    stack.manage("sessions", "new", "dies", "--profile", "quitter")
    stack.manage("sessions", "new", "sh1", "--profile", "shell")
    stack.manage("tasks", "add", "Fix the parser")

    page.goto("/")
    dead = page.locator("#section-ended #card-dies")
    expect(dead.locator(".reason")).to_contain_text("pane dead (exit 3)", timeout=45_000)
    expect(dead.locator(".reason")).to_contain_text("its last lines: Error: OPENAI_API_KEY is not set")
    expect(dead.locator(".badge")).to_contain_text("ended")
    screenshot(page, "overview-early-death")
    page.goto("/sessions/dies/")
    expect(page.locator("#session-head .vocabulary")).to_have_text("lifecycle ended · status stopped")

    page.goto("/sessions/sh1/")
    screen = page.locator("#screen")
    expect(screen).to_contain_text(re.compile(r"[$#]"), timeout=45_000)  # sh's prompt (root's is #)
    # a fresh shell's prompt is on the pane's first line: the mirror shows it, not 49 blank lines below it
    shown = screen.evaluate("s => ({rows: s.textContent.split('\\n').length, hidden: s.scrollHeight - s.clientHeight})")
    assert shown["rows"] <= 3 and shown["hidden"] <= 2, shown
    screenshot(page, "session-fresh-shell")

    page.goto("/tasks/1/")
    assign = page.locator("#assign")
    assign.locator("select[name=session]").select_option("sh1")
    assign.get_by_role("button", name="Assign").click()
    expect(page.locator("#flash")).to_contain_text("session sh1 runs shell, which is not an agent")
    assign.get_by_label("Assign even to a session that runs no agent").check()
    assign.get_by_role("button", name="Assign").click()
    expect(page.locator("#flash")).to_contain_text("Task #1 assigned to sh1")
