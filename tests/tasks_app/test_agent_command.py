"""`chorus agent ...`, the twins of the agent tools: the credential from the file CHORUS_AGENT_CREDENTIAL names, one
facade call per action, text or --json, and one line for every refusal. A real process runs it in the integration
tier."""

import io
import json
import subprocess
import sys

import pytest
from django.core.management import CommandError

from sessions_app import credentials
from sessions_app.models import AgentQuestion, OutboxMessage
from tasks_app.models import Task, TaskNote
from tests.support import child_environment
from tests.tasks_app.factories import SessionFactory, TaskFactory, assigned_task
from tests.tasks_app.helpers import agent, numbered, session_killed

pytestmark = pytest.mark.django_db


@pytest.fixture
def spec(docs, settings, tmp_path):
    settings.DATA_DIR = tmp_path / "data"
    docs.write("spec.md", numbered(30))
    return docs


@pytest.fixture
def pane(spec, monkeypatch):
    """Inside the pane of session s1, whose agent has fleet-write tools."""
    issued = credentials.issue("s1", "fleet-write")
    SessionFactory(name="s1")
    monkeypatch.setenv("CHORUS_AGENT_CREDENTIAL", str(issued.path))
    return issued


def test_whoami_and_task_as_text_and_json(pane):
    who = agent("whoami")
    assert who.startswith("session s1 (profile aider) on ") and who.endswith(", tier fleet-write, no task\n")
    assert "no task at work" in agent("task") and agent("--json", "task") == "null\n"
    task = assigned_task("s1", title="Parser", description="Make it fast", references=["spec.md:2-3"])
    assert agent("task") == f"Task {task.id}: Parser (assigned)\n\nMake it fast\n\nspec.md:2-3\nline 2\nline 3\n"
    assert json.loads(agent("--json", "whoami"))["task_id"] == task.id
    assert json.loads(agent("--json", "task"))["references"][0]["state"] == "current"


def test_sessions_tasks_create_and_assign_from_the_pane(pane):
    SessionFactory(name="s2")
    created = agent("create", "Split the parser", "--ref", "spec.md:3-4", "--label", "found", "--priority", "3")
    number = int(created.split()[1])
    assert created == f"task {number} created (ready): Split the parser\n"
    assert agent("tasks", "--status", "ready") == f"{number}\tready\t3\t-\tSplit the parser\n"
    assert agent("assign", str(number), "s2") == f"task {number} is assigned to s2: its prompt is queued there\n"
    assert Task.objects.get(pk=number).session == "s2"
    listed = json.loads(agent("--json", "sessions"))["sessions"]
    assert [(s["name"], s["task_id"]) for s in listed] == [("s1", None), ("s2", number)]
    with pytest.raises(CommandError, match=r"^no task 99$"):
        agent("assign", "99", "s2")


def test_progress_finish_and_a_second_finish_refused_in_one_line(pane, monkeypatch):
    task = assigned_task("s1")
    monkeypatch.setattr("sys.stdin", io.StringIO("All done; tests pass\n"))
    assert agent("progress", "half way") == f"noted on task {task.id}\n"
    assert agent("finish", "-") == f"task {task.id} is in review: a person decides\n"
    finished = Task.objects.get(pk=task.id)
    assert (finished.status, finished.result_note) == ("review", "All done; tests pass")
    assert [note.note for note in TaskNote.objects.all()] == ["half way"]
    with pytest.raises(CommandError, match=r"^session s1 has no task at work"):
        agent("fail", "nope")


def test_fail_with_the_task_named(pane):
    task = assigned_task("s1")
    with pytest.raises(CommandError, match=f"^no task {task.id + 1}$"):
        agent("fail", "broken", "--task", str(task.id + 1))
    assert json.loads(agent("--json", "fail", "broken", "--task", str(task.id)))["status"] == "failed"


def test_ask_next_send_and_read(pane):
    asked = json.loads(agent("--json", "ask", "Which database?", "--option", "Postgres", "--option", "SQLite"))
    assert AgentQuestion.objects.get().options == asked["options"] == ["Postgres", "SQLite"]
    assert agent("next") == "no task is ready for you\n"
    task = TaskFactory(title="Docs")
    assert agent("next").startswith(f"Task {task.id}: Docs")
    SessionFactory(name="s2")
    assert agent("send", "s2", "your turn") == "queued for s2: typed when it is idle\n"
    assert OutboxMessage.objects.get(session="s2").sender == "s1"
    assert agent("read", "spec.md", "--lines", "9-10") == " 9  line 9\n10  line 10\n"
    assert agent("read", "spec.md", "--lines", "30") == "30  line 30\n"
    with pytest.raises(CommandError, match="--lines 'x' is not A-B"):
        agent("read", "spec.md", "--lines", "x")


def test_a_missing_or_revoked_credential_says_so_in_one_line(pane, monkeypatch):
    session_killed("s1")
    with pytest.raises(CommandError, match=r"^this agent credential was revoked: the session was killed$"):
        agent("whoami")
    pane.path.unlink()  # as the worker does after the revocation
    with pytest.raises(CommandError, match=r"^cannot read the agent credential .*: it is gone"):
        agent("whoami")
    monkeypatch.delenv("CHORUS_AGENT_CREDENTIAL")
    with pytest.raises(CommandError, match=r"^no agent credential: CHORUS_AGENT_CREDENTIAL is not set"):
        agent("whoami")


@pytest.mark.integration
@pytest.mark.django_db(transaction=True)
def test_the_twin_in_a_real_process_reads_its_credential_file_and_fails_in_one_line_once_revoked(pane, spec):
    task = assigned_task("s1")
    env = {**child_environment(), "PROJECT_ROOT": str(spec.root), "CHORUS_AGENT_CREDENTIAL": str(pane.path)}
    chorus = [sys.executable, "-m", "chorus_site.cli", "agent"]
    done = subprocess.run([*chorus, "finish", "Done in a real process"], env=env, capture_output=True, text=True)
    assert (done.returncode, done.stdout, done.stderr) == (0, f"task {task.id} is in review: a person decides\n", "")
    assert Task.objects.get(pk=task.id).result_note == "Done in a real process"
    assert pane.secret not in done.args  # only the file's path reaches the child, never the secret
    session_killed("s1")
    refused = subprocess.run([*chorus, "whoami"], env=env, capture_output=True, text=True)
    assert refused.returncode == 1
    assert refused.stderr == "CommandError: this agent credential was revoked: the session was killed\n"
