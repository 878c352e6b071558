"""The session page's interactive terminal in a real browser: keystrokes typed into xterm.js reach a real tmux pane
byte for byte (";", quotes, "C-c" as text, ESC, a real Ctrl+C), the pane's output streams back, and a Chorus run
read-only shows the same stream but types nothing."""

import re
import subprocess
import sys

import pytest
from django.conf import settings
from playwright.sync_api import expect

from sessions_app.relay import TerminalRelay
from tests.conftest import ROOT
from tests.pages.conftest import wait_for
from tests.support import ServerProcess, free_port

PROMPT = re.compile(r"^[^\n]*[$#] ?$", re.MULTILINE)
pytestmark = [pytest.mark.browser, pytest.mark.integration, pytest.mark.timeout(240)]


def manage(stack, *args: str) -> None:
    """A command as stack.manage runs it, with SHELL=/bin/sh: the shell profile runs $SHELL, and an interactive bash
    runs ~/.bashrc, whose hooks can hold the prompt back for a minute on a busy machine."""
    done = subprocess.run(
        [sys.executable, str(ROOT / "manage.py"), *args],
        env={**stack.env, "SHELL": "/bin/sh"},
        capture_output=True,
        text=True,
        timeout=90,
    )
    assert done.returncode == 0, done.stderr


def start_shell(stack, tmux_server, name: str) -> str:
    manage(stack, "sessions", "new", name, "--profile", "shell", "--tools", "off")
    pane = wait_for(lambda: tmux_server.pane(name).pane_id, what=f"{name}'s pane")
    wait_for(lambda: PROMPT.search(tmux_server.capture(pane).text), 45, what="the shell's prompt")
    return pane


def open_terminal(tab, name: str):
    tab.goto(f"/sessions/{name}/")
    terminal = tab.locator("#live-terminal")
    terminal.locator("summary").click()
    expect(terminal).to_have_attribute("data-state", "live")
    return terminal


def pane_text(tmux_server, pane: str) -> str:
    return tmux_server.capture(pane).text


def test_keystrokes_reach_the_pane_literally_and_its_output_streams_back(page, stack, tmux_server, screenshot):
    pane = start_shell(stack, tmux_server, "typist")
    terminal = open_terminal(page, "typist")
    expect(terminal).to_have_attribute("data-writable", "true")
    rows = terminal.locator(".xterm-rows")
    expect(rows).to_contain_text(re.compile(r"[$#]"))
    # the pane took the size this window has room for
    width = wait_for(lambda: tmux_server.pane(pane).width < 200 and tmux_server.pane(pane).width, what="a resize")
    expect(terminal.locator("[data-terminal-status]")).to_contain_text(f"{width}\u00d7")

    terminal.locator(".xterm").click()
    page.keyboard.type("cat -v")
    page.keyboard.press("Enter")
    wait_for(lambda: tmux_server.pane(pane).current_command == "cat", what="cat in the foreground")
    page.keyboard.type("a;b C-c 'q' \"$HOME\" #{pane_id} é")
    page.keyboard.press("Escape")
    page.keyboard.press("Enter")
    # cat -v shows ESC as ^[ and é's two bytes as M-CM-): every byte arrived as typed, none as a key name or syntax
    echoed = "a;b C-c 'q' \"$HOME\" #{pane_id} M-CM-)^["
    wait_for(lambda: echoed in pane_text(tmux_server, pane), what="cat's echo in the pane")
    expect(rows).to_contain_text(echoed)
    page.keyboard.press("Control+C")
    wait_for(lambda: tmux_server.pane(pane).current_command != "cat", what="Ctrl+C ending cat")
    page.keyboard.type("echo done-$((20+3))")
    page.keyboard.press("Enter")
    expect(rows).to_contain_text("done-23")
    screenshot(page, "session-terminal")

    # a restart gives the session a new pane (or the same id in a new tmux server): the terminal follows it
    shell = tmux_server.pane(pane).pid
    manage(stack, "sessions", "restart", "typist")
    moved = wait_for(lambda: tmux_server.pane("typist").pid != shell and tmux_server.pane("typist").pane_id)
    wait_for(lambda: PROMPT.search(pane_text(tmux_server, moved)), 45, what="the new shell's prompt")
    expect(terminal).to_have_attribute("data-state", "live")
    expect(rows).not_to_contain_text("done-23")
    terminal.locator(".xterm").click()
    page.keyboard.type("echo again-$((1+1))")
    page.keyboard.press("Enter")
    wait_for(lambda: "again-2" in pane_text(tmux_server, moved), what="typing into the new pane")
    expect(rows).to_contain_text("again-2")


def test_a_read_only_chorus_streams_the_terminal_but_types_nothing(chromium, stack, tmux_server):
    pane = start_shell(stack, tmux_server, "watched")
    watcher = ServerProcess({**stack.env, "CHORUS_READ_ONLY": "1"}, free_port(), settings.CHORUS_TOKEN)
    # the host's worker relays this web server's terminals too (this process stands in for its relay job)
    relay = TerminalRelay(watcher.url)
    relay.start()
    context = chromium.new_context(viewport={"width": 1280, "height": 860}, base_url=watcher.url)
    try:
        tab = context.new_page()
        tab.goto(f"/login/?token={watcher.token}")
        terminal = open_terminal(tab, "watched")
        expect(terminal).to_have_attribute("data-writable", "false")
        expect(terminal.locator("[data-terminal-status]")).to_contain_text("read-only · 200\u00d750")
        rows = terminal.locator(".xterm-rows")
        # output made elsewhere arrives live
        tmux_server.send_text(pane, "echo from-elsewhere-$((40+2))")
        tmux_server.send_keys(pane, "Enter")
        expect(rows).to_contain_text("from-elsewhere-42")
        terminal.locator(".xterm").click()
        tab.keyboard.type("echo typed-here")
        tab.keyboard.press("Enter")
        # a socket that sends input anyway is refused, and the pane never sees it
        refusal = tab.evaluate(
            """() => new Promise((resolve) => {
                const socket = new WebSocket(`ws://${location.host}/ws/terminal/?name=watched`);
                socket.onmessage = (m) => {
                  const news = JSON.parse(m.data);
                  if (news.type === "ready") socket.send(JSON.stringify({input: "echo sneaked-in\\r"}));
                  if (news.type === "error") { resolve(news.message); socket.close(); }
                };
            })"""
        )
        assert "read-only" in refusal
        tmux_server.send_text(pane, "echo last-line")
        tmux_server.send_keys(pane, "Enter")
        expect(rows).to_contain_text("last-line")
        screen = pane_text(tmux_server, pane)
        assert "typed-here" not in screen and "sneaked-in" not in screen, screen
        assert tmux_server.pane(pane).width == 200
    finally:
        context.close()
        relay.stop()
        watcher.stop()
