"""Usage end to end: the fake agent in real tmux writes a Claude-Code-like transcript of each reply's usage (two
content-block lines per message, as Claude Code does) and a session file naming its pane and conversation; the
worker's jobs record each turn once, against the task at work, and the task's cost shows it."""

import json
import sys

import pytest

from events_app.policies import PolicyRunner
from sessions_app import services as session_services
from sessions_app.models import Session
from sessions_app.worker import SessionMonitor
from tasks_app import selectors, services
from tasks_app.models import Task
from tasks_app.worker import QuietPeriod, UsageMeter
from tests.sessions_app.conftest import FAKE_AGENT
from tests.tasks_app.test_integration import wait_for

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def metered(project, tmp_path, monkeypatch, settings):
    """The fake profile (extending claude, so its reader is claude_transcript) with the agent writing its
    transcript under a Claude directory of the test's own."""
    claude_dir = tmp_path / "claude"
    monkeypatch.setenv("CLAUDE_CONFIG_DIR", str(claude_dir))
    sessions_dir = tmp_path / "claude-sessions"
    command = [sys.executable, str(FAKE_AGENT), "--log", str(project.log), "--sessions-dir", str(sessions_dir)]
    command += ["--work-seconds", "1", "--claude-dir", str(claude_dir)]
    (project.root / "chorus.toml").write_text(
        f'[profiles.fake]\nextends = "claude"\ncommand = {json.dumps(command)}\nprocess_names = ["python*"]\n'
    )
    settings.CHORUS_USAGE_INTERVAL = 0.1
    monitor, runner, meter = SessionMonitor(), PolicyRunner(), UsageMeter()
    meter.discover_seconds = 0  # look for the agent's files at every tick: its session file comes after its start
    monitor.start()
    runner.start()
    meter.start()
    yield [monitor, runner, QuietPeriod(), meter]
    monitor.stop()


def test_the_worker_records_the_fake_agents_turns_once_against_its_task(project, metered):
    session_services.session_create("agent-1", "fake")
    wait_for(metered, lambda: Session.objects.get(pk="agent-1").status == "idle", what="idle")
    task = services.task_create("Spend a little", "work:1 then stop")
    services.task_assign(task.id, "agent-1", expected_version=task.version)
    wait_for(metered, lambda: Task.objects.get(pk=task.id).status == "review", timeout=20, what="review")
    wait_for(metered, lambda: selectors.usage_of("task", task.id), what="the turn recorded")
    for _ in range(5):
        for job in metered:
            job.tick()
    spent = selectors.usage_of("task", task.id)
    assert (spent.turns, spent.input, spent.output, spent.cache_read, spent.cache_write) == (1, 100, 50, 1000, 10)
    # claude-sonnet-4-5-fake takes claude-sonnet-4's price: 100*3 + 50*15 + 1000*0.3 + 10*3.75 millionths
    assert spent.cost_micros == round(300 + 750 + 300 + 37.5)
    assert selectors.usage_of("session", "agent-1").turns == 1
