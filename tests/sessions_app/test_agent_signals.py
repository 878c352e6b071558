"""Status fusion: what an agent tells Chorus through its tools is a signal beside the screen and the self-report. An
open question is waiting until answered; progress is busy at that moment; neither outranks a busy or waiting
screen, nor the pane's end. In the worker, the tracker keeps them from flapping."""

from __future__ import annotations

import dataclasses

import pytest

from events_app.store import event_context
from sessions_app import agent_reports, credentials
from sessions_app.agents import BUILTIN_PROFILES
from sessions_app.detection import AgentSignal, Observation, SelfReport, Status, detect
from sessions_app.models import Session
from sessions_app.worker import SessionMonitor
from tests.sessions_app import screens as s
from tests.sessions_app.factories import SessionFactory
from tests.sessions_app.test_worker import ScriptedTmux, codex

CODEX = BUILTIN_PROFILES["codex"]
ASKS = AgentSignal(Status.WAITING, "agent.question", "agent asks: Postgres or SQLite?")
PROGRESS = AgentSignal(Status.BUSY, "agent.progress", "agent: report_progress")


@pytest.mark.parametrize("signal", [ASKS, PROGRESS])
def test_a_signal_of_the_agent_outranks_an_idle_or_undecided_screen(signal):
    for screen in (codex("Ask Codex to do anything"), "nothing any rule knows"):
        verdict = detect(CODEX, Observation(screen=screen, pane_current_command="codex", agent_signal=signal))
        assert (verdict.status, verdict.rule, verdict.signal, verdict.reason) == (
            signal.status,
            signal.rule,
            "agent",
            signal.reason,
        )


def test_an_idle_self_report_gives_way_to_an_open_question():
    report = SelfReport(status="idle", source="hooks")
    verdict = detect(CODEX, Observation(screen="", agent_self_report=report, agent_signal=ASKS))
    assert verdict.rule == "agent.question"


@pytest.mark.parametrize(
    ("observation", "rule"),
    [
        (Observation(screen=s.CODEX_WORKING_LINE, pane_current_command="codex"), "codex.esc_to_interrupt"),
        (Observation(screen=s.CODEX_APPROVAL, pane_current_command="codex"), "codex.approval_question"),
        (Observation(screen="", agent_self_report=SelfReport(status="busy")), "self_report"),
        (Observation(screen="", pane_dead=True, pane_dead_status=0), "pane.dead"),
    ],
)
@pytest.mark.parametrize("signal", [ASKS, PROGRESS])
def test_a_busy_or_waiting_screen_or_self_report_and_a_dead_pane_outrank_the_agents_signal(observation, rule, signal):
    without = detect(CODEX, observation)
    assert without.rule == rule
    assert detect(CODEX, dataclasses.replace(observation, agent_signal=signal)) == without


@pytest.fixture
def watched(settings, tmp_path, monkeypatch):
    """A codex session at its empty prompt, whose agent has tools, watched by a worker over a scripted tmux."""
    settings.PROJECT_ROOT = settings.DATA_DIR = tmp_path
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    issued = credentials.issue("s1", "self")
    session = SessionFactory(name="s1", profile="codex")
    tmux = ScriptedTmux(
        session, "codex", codex("Ask Codex to do anything"), after_enter=codex("", working=True), typing=codex
    )
    monitor = SessionMonitor(adapter=tmux)
    monitor.tick()
    assert Session.objects.get(pk="s1").status == "idle"
    yield monitor, tmux, issued
    monitor.stop()


def status(name: str = "s1") -> tuple[str, str]:
    session = Session.objects.get(pk=name)
    return session.status, session.status_reason


@pytest.mark.django_db(transaction=True)
def test_an_open_question_is_waiting_until_answered_and_the_answer_is_typed_once(watched):
    monitor, tmux, _issued = watched
    with event_context(actor="s1", source="agent"):
        question = agent_reports.question_ask("s1", text="Postgres or SQLite?", options=[], task_id=None)
    monitor.tick()
    assert status() == ("waiting", "agent asks: Postgres or SQLite?")
    monitor.tick()
    assert status()[0] == "waiting" and tmux.typed == []  # nothing is typed while a person is waited for

    agent_reports.question_answer("s1", "SQLite")
    monitor.tick()
    assert status()[0] == "waiting"  # idle after waiting must hold for the quiet period first
    monitor.trackers["s1"].busy_quiet_seconds = 0
    monitor.tick()
    monitor.tick()
    monitor.stop()
    assert tmux.typed == [f"Answer to your question ({question.id}): SQLite", "Enter"]
    for _ in range(3):
        monitor.tick()
    assert tmux.typed.count("Enter") == 1


@pytest.mark.django_db(transaction=True)
def test_progress_is_busy_at_that_moment_only(watched):
    monitor, _tmux, issued = watched
    monitor.trackers["s1"].busy_quiet_seconds = 0
    with event_context(actor="s1", source="agent"):
        agent_reports.progress_report("s1", issued.digest, task_id=None, note="parser done")
    monitor.tick()
    assert status() == ("busy", "agent: report_progress")
    monitor.tick()
    monitor.tick()
    assert status()[0] == "idle"
