"""StatusTracker on synthetic timelines: transitions only when stable, idle only after a quiet period."""

from __future__ import annotations

import dataclasses

import pytest

from sessions_app.agents import BUILTIN_PROFILES
from sessions_app.detection import FOREGROUND_SHELL, StatusTracker, Verdict, detect
from sessions_app.profiles import Status
from tests.sessions_app import screens as s


def verdict(status: str, text: str = "") -> Verdict:
    return Verdict(
        status=Status(status),
        reason=f"rule test.{status} matched {text!r}",
        rule=f"test.{status}",
        signal="screen",
        text=text,
    )


def run(tracker: StatusTracker, timeline: list[tuple[float, str]]) -> list[tuple[float, str]]:
    """Feed (time, status) pairs; return the reported transitions as (time, status)."""
    changes = []
    for at, status in timeline:
        change = tracker.update(verdict(status), at)
        if change is not None:
            changes.append((change.at, str(change.verdict.status)))
    return changes


def test_first_verdict_is_reported_at_once():
    tracker = StatusTracker()
    change = tracker.update(verdict("idle"), 5.0)
    assert change is not None
    assert (change.previous, change.verdict.status, change.since, change.at) == (None, Status.IDLE, 5.0, 5.0)
    assert tracker.status == Status.IDLE


def test_spinner_frames_never_toggle_busy():
    tracker = StatusTracker()
    tracker.update(verdict("busy", "✶ Blanching…"), 0.0)
    for step, frame in enumerate(["· Blanching…", "✢ Blanching… (1s)", "✻ Blanching… (2s · ↓ 17 tokens)"] * 10):
        assert tracker.update(verdict("busy", frame), 0.1 * (step + 1)) is None
    assert tracker.status == Status.BUSY
    assert tracker.verdict.text == "✻ Blanching… (2s · ↓ 17 tokens)"


def test_idle_after_busy_waits_for_the_quiet_period():
    tracker = StatusTracker(idle_quiet_seconds=0.8, busy_quiet_seconds=0.8)
    changes = run(tracker, [(0.0, "busy"), (1.0, "idle"), (1.25, "idle"), (1.5, "idle"), (1.75, "idle"), (2.0, "idle")])
    assert changes == [(0.0, "busy"), (2.0, "idle")]


def test_idle_after_busy_holds_less_than_idle_after_a_dialog():
    """A spinner redraws several times a second, so 0.4 s without one is idle (seen within a second at a 0.25 s
    poll); right after a dialog the input line flashes back for longer (issue 14 item 8)."""
    timeline = [(1.0, "idle"), (1.25, "idle"), (1.5, "idle"), (1.75, "idle"), (2.0, "idle")]
    assert run(StatusTracker(), [(0.0, "busy"), *timeline]) == [(0.0, "busy"), (1.5, "idle")]
    assert run(StatusTracker(), [(0.0, "waiting"), *timeline]) == [(0.0, "waiting"), (2.0, "idle")]


def test_idle_after_a_usage_limit_or_an_agents_question_holds_as_after_busy():
    """Only a dialog drawn on the screen flashes the input line back: a limit's end is seen within a second."""
    timeline = [(1.0, "idle"), (1.25, "idle"), (1.5, "idle"), (1.75, "idle"), (2.0, "idle")]
    for signal in ("usage_limit", "agent"):
        tracker = StatusTracker()
        tracker.update(dataclasses.replace(verdict("waiting"), signal=signal), 0.0)
        assert run(tracker, timeline) == [(1.5, "idle")]


def test_idle_reports_when_the_first_idle_frame_was_seen():
    tracker = StatusTracker(idle_quiet_seconds=0.8, busy_quiet_seconds=0.8)
    tracker.update(verdict("busy"), 0.0)
    tracker.update(verdict("idle"), 1.0)
    change = tracker.update(verdict("idle"), 2.0)
    assert (change.previous, change.since, change.at) == (Status.BUSY, 1.0, 2.0)


def test_a_busy_frame_restarts_the_quiet_period():
    tracker = StatusTracker(idle_quiet_seconds=0.8, busy_quiet_seconds=0.8)
    timeline = [(0.0, "busy"), (1.0, "idle"), (1.5, "busy"), (1.7, "idle"), (2.2, "idle"), (2.6, "idle")]
    assert run(tracker, timeline) == [(0.0, "busy"), (2.6, "idle")]


def test_input_line_flash_after_answering_a_dialog_is_not_idle():
    """Right after a dialog is answered the input line shows for a moment, then the agent goes on working."""
    tracker = StatusTracker(idle_quiet_seconds=0.8)
    timeline = [(0.0, "waiting"), (0.5, "waiting"), (1.0, "idle"), (1.25, "idle"), (1.5, "busy"), (3.0, "busy")]
    assert run(tracker, timeline) == [(0.0, "waiting"), (1.5, "busy")]


def test_waiting_and_stopped_are_reported_at_once():
    tracker = StatusTracker()
    timeline = [(0.0, "busy"), (0.2, "waiting"), (0.4, "busy"), (0.6, "stopped"), (0.7, "idle")]
    assert run(tracker, timeline) == [(0.0, "busy"), (0.2, "waiting"), (0.4, "busy"), (0.6, "stopped"), (0.7, "idle")]


def test_busy_after_idle_is_reported_at_once():
    tracker = StatusTracker()
    assert run(tracker, [(0.0, "idle"), (0.25, "busy")]) == [(0.0, "idle"), (0.25, "busy")]


def test_a_passing_unknown_frame_changes_nothing():
    tracker = StatusTracker(unknown_grace_seconds=2.0)
    timeline = [(0.0, "busy"), (0.5, "unknown"), (1.0, "busy"), (1.5, "unknown"), (2.0, "unknown"), (3.0, "busy")]
    assert run(tracker, timeline) == [(0.0, "busy")]


def test_lasting_unknown_is_reported():
    tracker = StatusTracker(unknown_grace_seconds=2.0)
    timeline = [(0.0, "idle"), (1.0, "unknown"), (2.0, "unknown"), (3.0, "unknown"), (4.0, "unknown")]
    assert run(tracker, timeline) == [(0.0, "idle"), (3.0, "unknown")]


def test_idle_from_unknown_or_stopped_needs_no_quiet_period():
    tracker = StatusTracker(unknown_grace_seconds=1.0)
    timeline = [(0.0, "unknown"), (0.5, "idle"), (1.0, "stopped"), (1.5, "idle")]
    assert run(tracker, timeline) == [(0.0, "unknown"), (0.5, "idle"), (1.0, "stopped"), (1.5, "idle")]


def test_tick_confirms_a_pending_idle_without_a_new_observation():
    tracker = StatusTracker(busy_quiet_seconds=0.8)
    tracker.update(verdict("busy"), 0.0)
    assert tracker.update(verdict("idle"), 1.0) is None
    assert tracker.pending_until == pytest.approx(1.8)
    assert tracker.tick(1.5) is None
    change = tracker.tick(1.8)
    assert change.verdict.status == Status.IDLE
    assert tracker.pending_until is None


def test_observations_must_come_in_time_order():
    tracker = StatusTracker()
    tracker.update(verdict("idle"), 2.0)
    with pytest.raises(ValueError, match="time order"):
        tracker.update(verdict("busy"), 1.0)


def test_the_captured_session_reports_each_transition_once():
    """The fixtures in capture order (about 0.7 s apart), as a worker that ticks when a change falls due."""
    claude = BUILTIN_PROFILES["claude"]
    # The captures are spaced evenly, so a shell in front (after /exit) lasts one capture here, minutes in real life.
    tracker = StatusTracker(idle_quiet_seconds=0.6, launcher_grace_seconds=0.5)
    reported = []
    for capture in s.captures():
        due = tracker.pending_until
        if due is not None and due <= capture.seconds and (change := tracker.tick(due)):
            reported.append(str(change.verdict.status))
        if change := tracker.update(detect(claude, capture.observation), capture.seconds):
            reported.append(str(change.verdict.status))
    if tracker.pending_until is not None and (change := tracker.tick(tracker.pending_until)):
        reported.append(str(change.verdict.status))
    turn = ["busy", "idle"]
    tool_turn = ["busy", "waiting", "busy", "idle"]
    assert reported == [
        "idle",
        *turn,
        *tool_turn,
        *tool_turn,
        *turn,
        *turn,
        "stopped",
        "idle",
        "stopped",
        "idle",
        "stopped",
    ]


def shell_in_front() -> Verdict:
    return Verdict(Status.STOPPED, "foreground command is bash, not claude", FOREGROUND_SHELL, "process", "bash")


def test_a_launcher_script_in_front_for_a_moment_at_start_is_not_a_stop():
    tracker = StatusTracker(launcher_grace_seconds=2.0)
    assert tracker.update(shell_in_front(), 0.0) is None
    assert tracker.update(shell_in_front(), 0.5) is None
    change = tracker.update(verdict("idle"), 1.0)
    assert (change.previous, change.verdict.status) == (None, Status.IDLE)


def test_a_shell_that_stays_in_front_is_a_stop_once_it_held():
    tracker = StatusTracker(launcher_grace_seconds=2.0)
    tracker.update(verdict("busy"), 0.0)
    assert tracker.update(shell_in_front(), 1.0) is None
    assert tracker.pending_until == 3.0
    change = tracker.tick(3.0)
    assert (change.previous, change.verdict.status) == (Status.BUSY, Status.STOPPED)


def test_a_dead_pane_is_a_stop_at_once():
    tracker = StatusTracker(launcher_grace_seconds=2.0)
    tracker.update(verdict("busy"), 0.0)
    change = tracker.update(verdict("stopped"), 0.1)
    assert change.verdict.status is Status.STOPPED


def test_idle_in_the_agents_own_report_needs_no_quiet_period():
    tracker = StatusTracker(busy_quiet_seconds=0.8)
    tracker.update(verdict("busy"), 0.0)
    said = Verdict(Status.IDLE, "self_report: it says idle", "self_report", "self_report", "idle")
    change = tracker.update(said, 1.0)
    assert change is not None and (change.verdict.status, change.at) == (Status.IDLE, 1.0)
    # the screen alone still waits out the quiet period
    tracker.update(verdict("busy"), 2.0)
    assert tracker.update(verdict("idle"), 2.1) is None
    assert tracker.tick(2.5) is None
    assert tracker.tick(3.0).verdict.status is Status.IDLE
