"""Sessions end to end: real tmux (a private server), the fake agent, the worker's monitor, the event store."""

import json
import logging
import re
import sys
import time
import tomllib

import psutil
import pytest

from events_app import policies as registry
from events_app import store
from sessions_app import services
from sessions_app.models import OutboxMessage, Session, StatusChange
from sessions_app.worker import SessionMonitor
from tests.fakeagent.fake_agent import NBSP, PROMPT_MARK
from tests.sessions_app.conftest import FAKE_AGENT, received_prompts

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def wait_for(monitor, condition, timeout=10.0, what="condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        monitor.tick()
        result = condition()
        if result:
            return result
        time.sleep(0.05)
    session_rows = list(Session.objects.values("name", "status", "status_reason", "lifecycle"))
    raise AssertionError(f"timed out waiting for {what}; sessions: {session_rows}")


def status_of(name):
    return Session.objects.get(pk=name).status


@pytest.fixture
def monitor(project):
    monitor = SessionMonitor()
    monitor.start()
    yield monitor
    monitor.stop()


@pytest.fixture
def agent(project, monitor):
    session = services.session_create("agent-1", "fake")
    wait_for(monitor, lambda: status_of("agent-1") == "idle", what="idle")
    return session


def test_create_starts_a_tagged_tmux_session_that_turns_idle(agent, tmux_server, project):
    assert tmux_server.panes_by_tag()["agent-1"].pane_id == agent.pane_id
    session = Session.objects.get(pk="agent-1")
    assert (session.lifecycle, session.profile, session.cwd) == ("live", "fake", str(project.root))
    assert session.status_reason == "self_report: Claude Code session file says idle", session.status_reason
    # its session file names its conversation (bound for a resume later) from the first look
    assert [e.event_type for e in store.read(stream_type="session")] == [
        "SessionCreated",
        "ConversationBound",
        "SessionStatusChanged",
    ]


def test_a_message_is_typed_once_submitted_and_confirmed(agent, monitor, project):
    message = services.session_send("agent-1", "fix the bug in parser.py")
    delivered = wait_for(
        monitor,
        lambda: OutboxMessage.objects.filter(pk=message.id, state="delivered").first(),
        what="delivery",
    )
    assert delivered.confirmed_by in ("went busy", "UserPromptSubmit hook")
    assert delivered.attempts == 1
    wait_for(monitor, lambda: status_of("agent-1") == "idle", what="idle again")
    assert received_prompts(project.log) == ["fix the bug in parser.py"]
    history = list(StatusChange.objects.filter(session="agent-1").order_by("position"))
    assert [(h.from_status, h.to_status) for h in history] == [("starting", "idle"), ("idle", "busy"), ("busy", "idle")]
    assert all(h.reason and h.rule for h in history)


def test_messages_wait_in_the_outbox_while_busy_and_go_in_order(agent, monitor, project):
    first = services.session_send("agent-1", "work:2 first")
    wait_for(monitor, lambda: status_of("agent-1") == "busy", what="busy")
    second = services.session_send("agent-1", "second")
    third = services.session_send("agent-1", "third")
    cancelled = services.message_cancel(third.id)
    assert cancelled.state == "cancelled"
    wait_for(
        monitor,
        lambda: OutboxMessage.objects.filter(pk=second.id, state="delivered").exists(),
        timeout=15,
        what="second delivered",
    )
    assert OutboxMessage.objects.get(pk=first.id).state == "delivered"
    assert received_prompts(project.log) == ["work:2 first", "second"]
    with pytest.raises(services.SessionConflict):
        services.message_cancel(second.id)


def test_claude_hooks_report_the_accepted_prompt(agent, monitor, project):
    services.session_send("agent-1", "hooked prompt")
    wait_for(monitor, lambda: monitor.prompt_accepted("agent-1", "hooked prompt", 0), what="hook payload")
    assert not monitor.prompt_accepted("agent-1", "another prompt", 0)
    # every payload read is removed (the file tools' folder, files/, is the change watch's to empty)
    assert [path for path in services.hook_directory("agent-1").rglob("*") if path.is_file()] == []


def test_without_its_session_file_the_screen_rules_decide(agent, monitor, project, monkeypatch):
    monkeypatch.setenv("CHORUS_CLAUDE_SESSIONS_DIR", str(project.root / "elsewhere"))
    services.session_kill("agent-1")
    services.session_restart("agent-1")
    blind = SessionMonitor()
    wait_for(blind, lambda: status_of("agent-1") == "idle", what="idle from the screen")
    assert "claude.input_empty" in Session.objects.get(pk="agent-1").status_reason


def test_multiline_text_arrives_as_one_prompt_byte_for_byte(agent, monitor, project):
    text = "line one\n  indented: C-c ; -x\n\ttab and ESC[201~ tail"
    message = services.session_send("agent-1", text)
    wait_for(monitor, lambda: OutboxMessage.objects.get(pk=message.id).state == "delivered", what="delivery")
    assert received_prompts(project.log) == [text]


def test_a_permission_dialog_is_waiting_and_answered_with_keys(agent, monitor, project):
    services.session_send("agent-1", "ask:rm -rf build")
    wait_for(monitor, lambda: status_of("agent-1") == "waiting", what="waiting")
    assert "says waiting (permission prompt)" in Session.objects.get(pk="agent-1").status_reason
    services.session_send_keys("agent-1", ["1"])
    wait_for(monitor, lambda: status_of("agent-1") in ("busy", "idle"), what="answered")
    assert any(e.event_type == "KeysSent" and e.event.keys == ["1"] for e in store.read(stream_type="session"))


def test_exit_turns_the_session_stopped_with_the_signal_that_saw_it(agent, monitor, tmux_server):
    tmux_server.send_text(agent.pane_id, "/exit")
    tmux_server.send_keys(agent.pane_id, "Enter")
    wait_for(monitor, lambda: Session.objects.get(pk="agent-1").lifecycle == "ended", what="ended")
    session = Session.objects.get(pk="agent-1")
    # The agent's process may be seen gone a moment before tmux marks its pane dead; either decides.
    assert session.status == "stopped"
    assert re.search(r"pane dead|agent process \d+ is gone", session.status_reason), session.status_reason


def test_kill_ends_a_process_that_ignores_sighup(project, monitor, tmux_server):
    (project.root / "chorus.toml").write_text(
        (project.root / "chorus.toml").read_text().replace('"1"]', '"1", "--ignore-sighup"]')
    )
    session = services.session_create("stubborn", "fake")
    wait_for(monitor, lambda: status_of("stubborn") == "idle", what="idle")
    tree = [p.pid for p in psutil.Process(session.pid).children(recursive=True)] + [session.pid]
    killed = services.session_kill("stubborn")
    assert killed.lifecycle == "killed" and killed.status == "stopped"
    assert not tmux_server.has_session("stubborn")
    assert not [pid for pid in tree if psutil.pid_exists(pid) and psutil.Process(pid).status() != "zombie"]
    assert store.read(stream_type="session", event_types=["SessionKilled"]).__next__().event.leftover_pids == []


def test_restart_brings_a_stopped_session_back(agent, monitor, tmux_server):
    services.session_kill("agent-1")
    restarted = services.session_restart("agent-1")
    assert restarted.lifecycle == "live" and restarted.pane_id
    wait_for(monitor, lambda: status_of("agent-1") == "idle", what="idle after restart")
    assert tmux_server.panes_by_tag()["agent-1"].pane_id == restarted.pane_id


def test_a_pane_that_vanishes_behind_chorus_becomes_stopped(agent, monitor, tmux_server):
    tmux_server.kill_session("agent-1")
    wait_for(monitor, lambda: Session.objects.get(pk="agent-1").lifecycle == "ended", what="ended")
    assert Session.objects.get(pk="agent-1").status_reason == "its tmux pane is gone"


def test_the_monitor_survives_the_tmux_server_going_away(agent, monitor, tmux_server):
    tmux_server.kill_server()
    wait_for(monitor, lambda: Session.objects.get(pk="agent-1").lifecycle == "ended", what="ended")
    monitor.tick()


def test_adopt_takes_over_a_pane_chorus_did_not_start(project, monitor, tmux_server):
    tmux_server.new_session("mine", [], cwd=str(project.root))
    adopted = services.session_adopt("mine", profile="shell")
    assert adopted.adopted and adopted.name == "mine"
    assert tmux_server.panes_by_tag()["mine"].session_name == "mine"
    wait_for(monitor, lambda: status_of("mine") == "idle", what="shell idle")
    with pytest.raises(services.SessionConflict):
        services.session_adopt("mine", name="again", profile="shell")


def test_status_changes_are_events_only_on_transitions(agent, monitor):
    before = store.last_position()
    for _ in range(20):
        monitor.tick()
        time.sleep(0.02)
    assert store.last_position() == before


@pytest.mark.parametrize(
    ("call", "error"),
    [
        (lambda: services.session_create("bad name", "fake"), "invalid session name"),
        (lambda: services.session_create("-x", "fake"), "invalid session name"),
        (lambda: services.session_create("ok", "nope"), "unknown profile 'nope'"),
        (lambda: services.session_create("ok", "fake", subdir="../outside"), "outside PROJECT_ROOT"),
        (lambda: services.session_create("ok", "fake", subdir="missing"), "does not exist"),
        (lambda: services.session_send("ghost", "hi"), "no session named 'ghost'"),
        (lambda: services.session_kill("ghost"), "no session named 'ghost'"),
    ],
)
def test_bad_requests_are_refused_and_write_nothing(project, call, error):
    with pytest.raises(services.SessionError, match=error):
        call()
    assert store.last_position() == 0


def test_duplicate_names_disallowed_keys_and_empty_messages_are_refused(agent):
    before = store.last_position()
    with pytest.raises(services.SessionConflict, match="already running"):
        services.session_create("agent-1", "fake")
    with pytest.raises(services.SessionError, match="not allowed: rm"):
        services.session_send_keys("agent-1", ["rm"])
    with pytest.raises(services.SessionError, match="empty"):
        services.session_send("agent-1", "\x1b\x03  ")
    assert store.last_position() == before


def test_an_agent_burning_cpu_with_nothing_on_screen_is_busy_once_its_start_up_is_over(project, monitor, monkeypatch):
    monkeypatch.setattr("sessions_app.worker.STARTUP_SECONDS", 1.0)
    toml = project.root / "chorus.toml"
    burner = '["python3", "-c", "while True: pass"]'
    toml.write_text(
        toml.read_text()
        + f'\n[profiles.burner]\ncommand = {burner}\nprocess_names = ["python*"]\nbusy_cpu_percent = 20\n'
    )
    services.session_create("burner", "burner")
    monitor.tick()
    assert status_of("burner") == "starting"
    wait_for(monitor, lambda: status_of("burner") == "busy", what="busy by CPU")
    assert "cpu" in Session.objects.get(pk="burner").status_reason.lower()


def test_a_booting_agent_is_starting_until_its_first_signal_and_no_false_done_is_said(
    project, monitor, settings, caplog
):
    """Like Claude Code loading: seconds of busy CPU with nothing drawn, then its first frame (idle)."""
    settings.CHORUS_NOTIFY = "log"
    toml = project.root / "chorus.toml"
    command = tomllib.loads(toml.read_text())["profiles"]["fake"]["command"] + ["--boot-cpu", "2"]
    toml.write_text(toml.read_text() + f'\n[profiles.booting]\nextends = "fake"\ncommand = {json.dumps(command)}\n')
    policies = registry.PolicyRunner()
    policies.start()
    services.session_create("boot-1", "booting")
    with caplog.at_level("WARNING", logger="chorus.notify"):
        wait_for(monitor, lambda: status_of("boot-1") == "idle", timeout=15, what="idle after booting")
        message = services.session_send("boot-1", "work:0.5 first turn")
        wait_for(monitor, lambda: OutboxMessage.objects.get(pk=message.id).state == "delivered", what="delivery")
        wait_for(monitor, lambda: status_of("boot-1") == "idle", what="the first turn done")
        policies.tick()
    history = [(h.from_status, h.to_status) for h in StatusChange.objects.filter(session="boot-1").order_by("position")]
    assert history == [("starting", "idle"), ("idle", "busy"), ("busy", "idle")]
    # the first real "done" is said: no false one at the start took its place
    assert [m for m in caplog.messages if "boot-1" in m] == ["boot-1 is done: back at its prompt"]


def test_exit_sent_through_chorus_counts_as_delivered(agent, monitor):
    message = services.session_send("agent-1", "/exit")
    wait_for(monitor, lambda: OutboxMessage.objects.get(pk=message.id).state != "queued", what="claimed")
    done = wait_for(
        monitor, lambda: OutboxMessage.objects.filter(pk=message.id).exclude(state="delivering").first(), what="end"
    )
    assert (done.state, done.confirmed_by, done.failure_reason) in (
        ("delivered", "the agent stopped after it", ""),
        ("delivered", "input line emptied", ""),
    )


def test_a_kill_stands_when_the_worker_records_the_pane_dying_meanwhile(agent, monitor, monkeypatch):
    stop_agent = services._stop_agent

    def stop_while_the_worker_watches(session):
        leftovers = stop_agent(session)
        monitor.tick()
        return leftovers

    monkeypatch.setattr(services, "_stop_agent", stop_while_the_worker_watches)
    killed = services.session_kill("agent-1")
    assert killed.lifecycle == "killed"
    assert [e.event_type for e in store.read(stream_type="session")][-2:] == ["SessionStopped", "SessionKilled"]


def test_a_server_kept_up_without_sessions_starts_restarts_and_loses_the_last_one(project, empty_server, caplog):
    """`set -g exit-empty off` in a user's tmux.conf: tmux answers "no current target" while no session is left."""
    monitor = SessionMonitor()
    monitor.tick()
    services.session_create("only", "fake")
    for _ in range(7):
        assert services.session_restart("only").lifecycle == "live"
        monitor.tick()
    wait_for(monitor, lambda: status_of("only") == "idle", what="idle after the restarts")
    poll = monitor.tmux.poll

    def poll_then_lose_the_last_session(_capture):
        polled = poll([])
        empty_server.kill_session("only")
        return polled

    monitor.screens.clear()  # so that the tick captures the pane it listed, after it has gone
    monitor.tmux.poll = poll_then_lose_the_last_session
    monitor.tick()
    monitor.tmux.poll = poll
    wait_for(monitor, lambda: Session.objects.get(pk="only").lifecycle == "ended", what="ended")
    assert Session.objects.get(pk="only").status_reason == "its tmux pane is gone"
    assert not [record.getMessage() for record in caplog.records if record.levelno >= logging.WARNING]


def test_an_agent_with_a_home_of_its_own_is_read_and_warned_about_there(project, tmp_path, monkeypatch, caplog):
    """No CHORUS_CLAUDE_SESSIONS_DIR: the session file and the hooks switch are where the agent's HOME has them."""
    monkeypatch.delenv("CHORUS_CLAUDE_SESSIONS_DIR")
    home = tmp_path / "agent-home"
    (home / ".claude" / "sessions").mkdir(parents=True)
    (home / ".claude" / "settings.json").write_text('{"disableAllHooks": true}')
    command = [sys.executable, str(FAKE_AGENT), "--log", str(project.log), "--sessions-dir", f"{home}/.claude/sessions"]
    with (project.root / "chorus.toml").open("a") as config:
        config.write(
            f'[profiles.homed]\nextends = "fake"\ncommand = {json.dumps(command)}\nenv = {{ HOME = "{home}" }}\n'
        )
    monitor = SessionMonitor()
    services.session_create("homed", "homed")
    wait_for(monitor, lambda: status_of("homed") == "idle", what="idle")
    assert Session.objects.get(pk="homed").status_reason == "self_report: Claude Code session file says idle"
    warnings = [record.getMessage() for record in caplog.records if record.levelno == logging.WARNING]
    assert f"homed: {home}/.claude/settings.json sets disableAllHooks: Chorus relies on the session file alone" in (
        warnings
    )


def ended_by_itself(monitor, tmux_server, session):
    tmux_server.send_text(session.pane_id, "/exit")
    tmux_server.send_keys(session.pane_id, "Enter")
    wait_for(monitor, lambda: Session.objects.get(pk=session.name).lifecycle == "ended", what="ended")
    # remain-on-exit keeps its pane, dead, for its last screen
    assert tmux_server.panes_by_tag()[session.name].dead


def test_an_ended_sessions_name_is_free_again_and_its_dead_pane_goes(agent, monitor, tmux_server):
    ended_by_itself(monitor, tmux_server, agent)
    again = services.session_create("agent-1", "fake")
    assert (again.lifecycle, again.status) == ("live", "starting")
    assert not tmux_server.panes_by_tag()["agent-1"].dead
    wait_for(monitor, lambda: status_of("agent-1") == "idle", what="the new incarnation idle")


def test_killing_an_ended_session_cleans_its_pane_instead_of_refusing(agent, monitor, tmux_server):
    ended_by_itself(monitor, tmux_server, agent)
    before = store.last_position()
    session = services.session_kill("agent-1")
    assert (session.lifecycle, session.status) == ("ended", "stopped")
    assert not tmux_server.has_session("agent-1")
    assert store.last_position() == before  # it ended as it did: nothing to record


def test_remove_forgets_an_ended_session_and_keeps_its_history_in_the_log(agent, monitor, tmux_server):
    with pytest.raises(services.SessionConflict, match="is live; kill it first"):
        services.session_remove("agent-1")
    ended_by_itself(monitor, tmux_server, agent)
    services.session_remove("agent-1")
    assert not Session.objects.filter(pk="agent-1").exists()
    assert not StatusChange.objects.filter(session="agent-1").exists()
    assert not tmux_server.has_session("agent-1")
    history = [e.event_type for e in store.read(stream_type="session", stream_id="agent-1")]
    assert history[0] == "SessionCreated" and history[-2:] == ["SessionStopped", "SessionRemoved"]
    with pytest.raises(services.UnknownSession):
        services.session_remove("agent-1")


@pytest.mark.parametrize(
    ("command", "said"),
    [
        # (a program that exits the instant it prints may lose its output in tmux: this one takes a moment)
        (["sh", "-c", "echo 'Error: OPENAI_API_KEY is not set'; sleep 0.5; exit 3"], "lines: Error: OPENAI_API_KEY"),
        (["sh", "-c", "exec no-such-agent-cli"], "(exit 127): command not found; it ended"),
    ],
)
def test_an_agent_that_dies_at_once_says_why(project, monitor, command, said):
    toml = project.root / "chorus.toml"
    toml.write_text(toml.read_text() + f"\n[profiles.dies]\ncommand = {json.dumps(command)}\nagent = true\n")
    services.session_create("dies", "dies")
    wait_for(monitor, lambda: Session.objects.get(pk="dies").lifecycle == "ended", what="ended")
    reason = Session.objects.get(pk="dies").status_reason
    assert said in reason, reason
    assert "s after it started" in reason


def test_a_stray_key_holds_the_outbox_with_its_reason_until_the_input_is_cleared(agent, monitor, project, tmux_server):
    services.session_send_keys("agent-1", ["1"])
    # the key is on the agent's input line (a loaded machine may draw it after a tick or two)
    deadline = time.monotonic() + 15
    while f"{PROMPT_MARK}{NBSP}1" not in tmux_server.capture(agent.pane_id).text and time.monotonic() < deadline:
        time.sleep(0.05)
    message = services.session_send("agent-1", "after the stray key")
    wait_for(
        monitor,
        lambda: Session.objects.get(pk="agent-1").delivery_held == 'input has a draft: "1"',
        what="the reason the outbox waits",
    )
    assert OutboxMessage.objects.get(pk=message.id).state == "queued"
    assert status_of("agent-1") == "idle"

    services.session_clear_input("agent-1")
    wait_for(monitor, lambda: OutboxMessage.objects.get(pk=message.id).state == "delivered", what="delivery")
    assert received_prompts(project.log) == ["after the stray key"]
    wait_for(monitor, lambda: Session.objects.get(pk="agent-1").delivery_held == "", what="the reason gone")
    wait_for(monitor, lambda: status_of("agent-1") == "idle", what="idle again")
    with pytest.raises(services.SessionConflict, match="empty; nothing to clear"):
        services.session_clear_input("agent-1")
