# ruff: noqa: RUF001  -- screens hold the glyphs TUIs really draw (U+203A), not typos for >.
"""The worker's session job against a scripted tmux (no tmux, no agent): it types a queued message only into an
empty input line, as the session's profile reads it, and never into a person's draft; it keeps the screens pages
show, once per tick, only while a page shows them."""

from __future__ import annotations

import dataclasses
import os
import time
from collections.abc import Callable

import pytest

from events_app import projection, store
from sessions_app import mirror, selectors, services
from sessions_app.models import MirroredScreen, OutboxMessage, Session
from sessions_app.tmux import PaneInfo, PaneScreen
from sessions_app.worker import SessionMonitor
from tests.sessions_app import screens as s
from tests.sessions_app.factories import SessionFactory

pytestmark = pytest.mark.django_db(transaction=True)


class ScriptedTmux:
    """One pane whose screen a test sets; typed text shows as `typing(text)` draws it (when given: an agent's input
    line echoes what is typed), and Enter turns the screen into `after_enter`."""

    def __init__(
        self, session: Session, command: str, screen: str, after_enter: str, typing: Callable[[str], str] | None = None
    ):
        self.info = PaneInfo(
            session_name=session.name, window_index=0, pane_id=session.pane_id, pid=session.pid,
            current_command=command, current_path="/tmp", dead=False, dead_status=None, dead_signal=None,
            title="", alternate_on=False, cursor_x=0, cursor_y=0, history_size=0, width=200, height=50,
            in_mode=False, activity=1, tag=session.name,
        )  # fmt: skip
        self.screen = screen
        self.after_enter = after_enter
        self.typing = typing
        self.typed: list[str] = []
        self.coloured: list[list[str]] = []  # the colour captures asked for, one list per call
        self.zombie_status: int | None = None  # the status of an exit the server has not reaped (see Tmux.reap)
        self.reaps = 0

    def show(self, screen: str) -> None:
        self.screen = screen
        self.info = dataclasses.replace(self.info, activity=self.info.activity + 1)

    def _screen(self) -> PaneScreen:
        return PaneScreen(self.info.pane_id, self.screen, self.info.activity, False, 200, 50, time.time())

    def poll(self, capture):
        return [self.info], {pane_id: self._screen() for pane_id in capture if pane_id == self.info.pane_id}

    def capture_many(self, pane_ids, ansi=False):
        if ansi:
            self.coloured.append(list(pane_ids))
            screen = dataclasses.replace(self._screen(), text=f"\x1b[1m{self.screen}\x1b[0m")
            return {pane_id: screen for pane_id in pane_ids if pane_id == self.info.pane_id}
        return {pane_id: self._screen() for pane_id in pane_ids if pane_id == self.info.pane_id}

    def capture(self, pane_id):
        return self._screen()

    def capture_with_history(self, pane_id, lines):
        return self.screen

    def pane(self, target):
        return self.info

    def reap(self):
        self.reaps += 1
        if self.zombie_status is not None:
            self.info = dataclasses.replace(self.info, dead_status=self.zombie_status)

    def send_text(self, pane_id, text):
        self.typed.append(text)
        if self.typing is not None:
            self.show(self.typing(text))

    paste_text = send_text

    def send_keys(self, pane_id, *keys):
        self.typed.extend(keys)
        if "Enter" in keys:
            self.show(self.after_enter)


def codex(composer: str, working: bool = False) -> str:
    status = ["• Working (1s • esc to interrupt)", ""] if working else []
    return s.screen("› earlier prompt", "", "• Done.", "", *status, f"› {composer}", "", "  ? for shortcuts")


def gemini(text: str, above: str = "✦ Done.") -> str:
    return s.screen("> earlier prompt", "", above, "", *s.boxed(f"> {text}"), s.GEMINI_FOOTER)


@pytest.fixture
def project(settings, tmp_path, monkeypatch):
    settings.PROJECT_ROOT = tmp_path
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))


@pytest.mark.parametrize(
    ("profile", "command", "draft", "empty", "busy", "typing"),
    [
        (
            "codex",
            "codex",
            codex("half a sentence"),
            codex("Ask Codex to do anything"),
            codex("", working=True),
            codex,
        ),
        (
            "gemini",
            "node",
            gemini("half a sentence"),
            gemini("  Type your message or @path/to/file"),
            gemini("", above="⠏ Thinking (esc to cancel, 1s)"),
            gemini,
        ),
    ],
)
def test_a_queued_message_waits_while_a_person_drafts(project, profile, command, draft, empty, busy, typing):
    session = SessionFactory(profile=profile)
    tmux = ScriptedTmux(session, command, draft, after_enter=busy, typing=typing)
    monitor = SessionMonitor(adapter=tmux)
    message = services.session_send(session.name, "run the tests")
    for _ in range(3):
        monitor.tick()
    waiting = Session.objects.get(pk=session.name)
    assert (waiting.status, waiting.delivery_held) == ("idle", 'input has a draft: "half a sentence"')
    assert OutboxMessage.objects.get(pk=message.id).state == "queued"
    assert tmux.typed == []

    tmux.show(empty)
    monitor.tick()
    monitor.stop()
    delivered = OutboxMessage.objects.get(pk=message.id)
    assert (delivered.state, delivered.confirmed_by) == ("delivered", "went busy")
    assert tmux.typed == ["run the tests", "Enter"]
    monitor.tick()
    assert Session.objects.get(pk=session.name).delivery_held == ""


def test_the_screen_a_page_shows_is_captured_in_colour_once_per_change_and_stored(project):
    session = SessionFactory(profile="shell")
    tmux = ScriptedTmux(session, "bash", "$ make", after_enter="$ make")
    monitor = SessionMonitor(adapter=tmux)
    monitor.tick()
    assert tmux.coloured == []  # nobody shows it
    assert selectors.screens([session.name]) == {}

    mirror.watch([session.name])
    monitor.tick()
    monitor.tick()  # nothing changed on screen: no capture
    first = selectors.screens([session.name])[session.name]
    tmux.show("$ make\nall green")
    monitor.tick()

    assert tmux.coloured == [[session.pane_id], [session.pane_id]]
    (stored,) = selectors.screens([session.name]).values()
    assert (first.text, first.seq) == ("\x1b[1m$ make\x1b[0m", 1)
    assert (stored.text, stored.seq, stored.pane_id) == ("\x1b[1m$ make\nall green\x1b[0m", 2, session.pane_id)


def test_a_screen_asked_for_a_fresh_look_is_captured_again_though_nothing_changed(project):
    """A screen read from another process (the API's, of a host it does not own): it asks, and the worker's next
    tick captures the pane even though its cached capture says nothing changed."""
    session = SessionFactory(profile="shell")
    tmux = ScriptedTmux(session, "bash", "$ make", after_enter="$ make")
    monitor = SessionMonitor(adapter=tmux)
    mirror.watch([session.name])
    monitor.tick()
    MirroredScreen.objects.filter(session=session.name).update(captured_at=mirror.ASKED)  # what mirror.look writes
    monitor.tick()
    monitor.tick()

    assert tmux.coloured == [[session.pane_id], [session.pane_id]]
    stored = MirroredScreen.objects.get(session=session.name)
    assert (stored.seq, stored.captured_at != mirror.ASKED) == (1, True)


def test_a_screen_no_page_shows_any_more_is_not_captured(project):
    session = SessionFactory(profile="shell")
    tmux = ScriptedTmux(session, "bash", "$ make", after_enter="$ make")
    monitor = SessionMonitor(adapter=tmux)
    mirror.watch([session.name], now=time.time() - mirror.WATCH_SECONDS - 1)

    tmux.show("$ make\nall green")
    monitor.tick()

    assert tmux.coloured == []


@pytest.mark.parametrize(
    ("screen", "cursor_y", "state", "said"),
    [
        ("$ echo survive", 0, "failed", "still on the pane's input line"),
        ("$ echo survive\nsurvive\n$ ", 2, "delivered", "seen in the transcript after a worker restart"),
        ("$ ", 0, "failed", "not typed again"),
    ],
    ids=["typed-not-submitted", "submitted", "never-typed"],
)
def test_a_delivery_a_dead_worker_left_in_a_shell_is_confirmed_from_the_screen_or_failed(
    project, screen, cursor_y, state, said
):
    session = SessionFactory(profile="shell")
    message = services.session_send(session.name, "echo survive")
    assert services.delivery_claim(OutboxMessage.objects.get(pk=message.id))
    tmux = ScriptedTmux(session, "bash", screen, after_enter=screen)
    tmux.info = dataclasses.replace(tmux.info, cursor_y=cursor_y)

    SessionMonitor(adapter=tmux).start()

    recovered = OutboxMessage.objects.get(pk=message.id)
    assert recovered.state == state
    assert said in (recovered.confirmed_by or recovered.failure_reason)
    assert tmux.typed == []


def test_a_mirrored_screen_is_its_content_and_the_cursor_line_not_the_blank_pane_below():
    visible_part = mirror.visible_part
    fresh_shell = "$ \n" + "\n" * 49
    assert visible_part(fresh_shell, 0) == "$ \n"
    # the cursor below the last text (an empty line after output) is kept; colour codes alone are no content
    assert visible_part("$ ls\na  b\n\n\x1b[0m\n\n", 3) == "$ ls\na  b\n\n\x1b[0m\n"
    assert visible_part("top\n\n\nbottom\n\n", 0) == "top\n\n\nbottom\n"
    assert visible_part("\n\n\n", 0) == "\n"


def test_a_waiting_the_agent_reported_before_its_dialog_was_drawn_quotes_the_dialog_once_drawn(
    project, tmp_path, monkeypatch
):
    """Claude's session file says waiting ~50 ms before the dialog is on screen (issue 14 item 9): the reason
    recorded first cannot quote it; once drawn it is quoted, as an explanation, not as a second waiting."""
    sessions_dir = tmp_path / "claude-sessions"
    sessions_dir.mkdir()
    monkeypatch.setenv("CHORUS_CLAUDE_SESSIONS_DIR", str(sessions_dir))
    session = SessionFactory(profile="claude", pid=os.getpid())
    (sessions_dir / f"{os.getpid()}.json").write_text('{"status": "waiting", "waitingFor": "permission prompt"}')
    tmux = ScriptedTmux(session, "claude", s.fixture("busy_1"), after_enter=s.fixture("busy_1"))
    monitor = SessionMonitor(adapter=tmux)
    monitor.tick()
    first = Session.objects.get(pk=session.name)
    assert (first.status, first.status_reason) == (
        "waiting",
        "self_report: Claude Code session file says waiting (permission prompt)",
    )

    tmux.show(s.fixture("permission_1"))
    monitor.tick()
    monitor.tick()
    explained = Session.objects.get(pk=session.name).status_reason
    assert explained.startswith(
        "self_report: Claude Code session file says waiting (permission prompt); asks 'Do you want to proceed?': 1 Yes"
    )
    types = [e.event_type for e in store.read(stream_type="session", stream_id=session.name)]
    assert types.count("SessionStatusChanged") == 1 and types.count("SessionWaitingExplained") == 1
    assert projection.verify() == []


def test_a_hook_heard_in_the_tick_whose_poll_captured_the_pane_does_not_make_its_status_a_tick_late(
    project, tmp_path, monkeypatch
):
    """A hook payload makes the monitor look at the pane's screen again; when this tick's poll has just captured
    it, that screen is the look, not one to drop (the Claude kit's waiting came a tick late at every dialog)."""
    sessions_dir = tmp_path / "claude-sessions"
    sessions_dir.mkdir()
    monkeypatch.setenv("CHORUS_CLAUDE_SESSIONS_DIR", str(sessions_dir))
    session_file = sessions_dir / f"{os.getpid()}.json"
    session_file.write_text('{"status": "busy"}')
    session = SessionFactory(profile="claude", pid=os.getpid())
    tmux = ScriptedTmux(session, "claude", s.fixture("busy_1"), after_enter=s.fixture("busy_1"))
    # tmux stamps output in whole seconds: a pane captured in the second of its last output is captured again
    # by the next tick's poll
    tmux.info = dataclasses.replace(tmux.info, activity=int(time.time()) + 5)
    monitor = SessionMonitor(adapter=tmux)
    monitor.tick()
    assert Session.objects.get(pk=session.name).status == "busy"

    session_file.write_text('{"status": "waiting", "waitingFor": "permission prompt"}')
    tmux.show(s.fixture("permission_1"))
    hooks = services.hook_directory(session.name)
    hooks.mkdir(parents=True, exist_ok=True)
    (hooks / "1-1.json").write_text('{"hook_event_name": "PermissionRequest", "tool_name": "Bash"}')
    monitor.tick()
    monitor.stop()
    assert Session.objects.get(pk=session.name).status == "waiting"


def test_a_pane_dead_before_tmux_knows_its_exit_status_is_recorded_with_the_status_once_it_comes(project):
    session = SessionFactory(profile="shell")
    tmux = ScriptedTmux(session, "bash", "$ exit 3", after_enter="")
    monitor = SessionMonitor(adapter=tmux)
    monitor.tick()
    tmux.info = dataclasses.replace(tmux.info, dead=True, activity=tmux.info.activity + 1)
    monitor.tick()
    assert Session.objects.get(pk=session.name).status != "stopped"  # its terminal closed; not reaped yet

    tmux.info = dataclasses.replace(tmux.info, dead_status=3)
    monitor.tick()
    monitor.stop()
    stopped = Session.objects.get(pk=session.name)
    assert stopped.status == "stopped" and "pane dead (exit 3)" in stopped.status_reason


def test_a_dead_pane_whose_exit_the_server_missed_has_it_reaped_and_is_recorded_with_the_status(project):
    session = SessionFactory(profile="shell")
    tmux = ScriptedTmux(session, "bash", "$ exec no-such-program", after_enter="")
    monitor = SessionMonitor(adapter=tmux)
    monitor.tick()
    assert tmux.reaps == 0  # a live pane needs no reaping
    tmux.info = dataclasses.replace(tmux.info, dead=True, activity=tmux.info.activity + 1)
    tmux.zombie_status = 127
    monitor.tick()
    assert tmux.reaps == 1 and Session.objects.get(pk=session.name).status != "stopped"

    monitor.tick()
    monitor.stop()
    stopped = Session.objects.get(pk=session.name)
    assert stopped.status == "stopped" and "(exit 127): command not found" in stopped.status_reason
    assert tmux.reaps == 1
