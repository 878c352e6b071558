"""An overnight run end to end, fast enough for the integration tier: the fake Claude Code in real tmux with the
worker's jobs ticking (its monitor, policies, quiet period and usage meter). A dialog approved by a rule and one
denied by the guard list, both audited; a usage limit that parks the session and, at its reset (a short margin),
one continue message; the task's cost; a restart that resumes the conversation."""

import json
import sys

import pytest

from events_app import store
from events_app.policies import PolicyRunner
from sessions_app import selectors as session_selectors
from sessions_app import services as session_services
from sessions_app.worker import SessionMonitor
from tasks_app import selectors, services
from tasks_app.worker import QuietPeriod, UsageMeter
from tests.sessions_app.conftest import FAKE_AGENT, received_prompts
from tests.tasks_app.test_integration import wait_for

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

RULE = '\n[[approvals.rules]]\nname = "tests"\ndecision = "allow"\ntool = "Bash"\ncommand = "^pytest"\n'


@pytest.fixture
def night(project, tmp_path, monkeypatch, settings):
    """The fake profile writing its transcript under a Claude directory of the test's own, an approval rule for
    pytest, a one-second limit margin, and the worker's jobs."""
    claude_dir = tmp_path / "claude"
    monkeypatch.setenv("CLAUDE_CONFIG_DIR", str(claude_dir))
    sessions_dir = tmp_path / "claude-sessions"
    command = [sys.executable, str(FAKE_AGENT), "--log", str(project.log), "--sessions-dir", str(sessions_dir)]
    command += ["--work-seconds", "1", "--claude-dir", str(claude_dir)]
    (project.root / "chorus.toml").write_text(
        f'[profiles.fake]\nextends = "claude"\ncommand = {json.dumps(command)}\nprocess_names = ["python*"]\n' + RULE
    )
    settings.CHORUS_USAGE_INTERVAL = 0.1
    settings.CHORUS_LIMIT_MARGIN = 1
    monitor, runner, meter = SessionMonitor(), PolicyRunner(), UsageMeter()
    meter.discover_seconds = 0
    monitor.start()
    runner.start()
    meter.start()
    yield [monitor, runner, QuietPeriod(), meter]
    monitor.stop()


def events(name: str, event_type: str) -> list:
    return [r.event for r in store.read(stream_type="session", stream_id=name) if r.event_type == event_type]


def answers(log) -> list[tuple[str, str]]:
    entries = map(json.loads, log.read_text().splitlines()) if log.exists() else []
    return [(e["command"], e["answer"]) for e in entries if e.get("event") == "permission"]


def ready_conversations(log) -> list[str]:
    entries = map(json.loads, log.read_text().splitlines())
    return [entry["conversation"] for entry in entries if entry.get("event") == "ready"]


def status(name: str) -> str:
    return session_selectors.session(name).status


@pytest.mark.timeout(120)
def test_overnight_approvals_a_limit_resumed_once_the_tasks_cost_and_a_resumed_conversation(project, night):
    session_services.session_create("night", "fake")
    wait_for(night, lambda: status("night") == "idle", what="idle")
    task = services.task_create("Run the tests", "ask:pytest")
    services.task_assign(task.id, "night", expected_version=task.version)
    wait_for(night, lambda: answers(project.log) == [("pytest", "yes")], what="pytest approved by the rule")
    wait_for(night, lambda: selectors.task(task.id).status == "review", timeout=20, what="the task in review")
    session_services.session_send("night", "ask:curl|sh")
    wait_for(night, lambda: len(answers(project.log)) == 2, what="the download refused by the guard list")
    wait_for(night, lambda: status("night") == "idle", what="idle after the refusal")

    session_services.session_send("night", "limit:2")
    wait_for(night, lambda: session_selectors.session("night").status_reason.startswith("usage limit until"))
    assert [e.text for e in events("night", "ResumeScheduled")] == ["continue"]
    wait_for(night, lambda: "continue" in received_prompts(project.log), timeout=20, what="the continue message")
    wait_for(night, lambda: status("night") == "idle", what="idle after continuing")
    for _ in range(20):  # more looks after the reset: nothing more is sent
        for job in night:
            job.tick()
    assert received_prompts(project.log).count("continue") == 1 and len(events("night", "ResumeSent")) == 1

    decided = [(d.subject, d.decision, d.rule, d.task_id) for d in selectors.approval_decisions("night")]
    # the second came after the task went to review: no task at work then
    assert decided == [("curl|sh", "deny", "guard.download_to_shell", None), ("pytest", "allow", "tests", task.id)]
    wait_for(night, lambda: selectors.usage_of("task", task.id), what="the task's turns recorded")
    spent = selectors.usage_of("task", task.id)
    assert spent.turns >= 1 and spent.cost_micros > 0

    conversation = session_selectors.session("night").conversation
    assert conversation
    session_services.session_restart("night", resume=True)
    wait_for(night, lambda: len(ready_conversations(project.log)) == 2, what="the agent started again")
    wait_for(night, lambda: status("night") == "idle", what="idle after the restart")
    assert ready_conversations(project.log)[-1] == conversation
    assert session_selectors.session("night").conversation == conversation
