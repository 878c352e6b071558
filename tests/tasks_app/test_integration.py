"""Tasks end to end: real tmux (a private server) and the fake agent for the lifecycle, the worker's git watch
finding a change under another task's claim, and documents_app's real watcher over a temporary PROJECT_ROOT for
references that follow edited files."""

import os
import subprocess
import time

import pytest

from documents_app.models import Document
from documents_app.services import documents_scan
from documents_app.watcher import DocumentWatcher
from events_app import store
from events_app.policies import PolicyRunner
from sessions_app import services as session_services
from sessions_app.models import Session
from sessions_app.worker import SessionMonitor
from tasks_app import selectors, services
from tasks_app.models import Dispatch, Reference, Task
from tasks_app.worker import ChangeWatch, QuietPeriod
from tests.sessions_app.conftest import received_prompts
from tests.tasks_app.helpers import numbered

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def wait_for(jobs, condition, timeout=15.0, what="condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for job in jobs:
            job.tick()
        result = condition()
        if result:
            return result
        time.sleep(0.05)
    tasks = list(Task.objects.values("id", "status", "session", "result_note"))
    sessions = list(Session.objects.values("name", "status", "status_reason"))
    raise AssertionError(f"timed out waiting for {what}; tasks: {tasks}; sessions: {sessions}")


@pytest.fixture
def jobs(project):
    (project.root / "docs").mkdir()
    (project.root / "docs" / "spec.md").write_text(numbered(40))
    documents_scan()
    monitor, runner = SessionMonitor(), PolicyRunner()
    monitor.start()
    runner.start()
    yield [monitor, runner, QuietPeriod()]
    monitor.stop()


def status_of(task_id: int) -> str:
    return Task.objects.get(pk=task_id).status


def test_an_assigned_task_reaches_the_agent_and_follows_it_to_review(project, jobs):
    session_services.session_create("agent-1", "fake")
    wait_for(jobs, lambda: Session.objects.get(pk="agent-1").status == "idle", what="idle")
    task = services.task_create("Fix the parser", "work:2 then stop", references=["docs/spec.md:10-12"])
    task = services.task_assign(task.id, "agent-1", expected_version=task.version)
    seen = {status_of(task.id)}
    wait_for(jobs, lambda: seen.add(status_of(task.id)) or status_of(task.id) == "review", timeout=20, what="review")
    assert seen == {"assigned", "in_progress", "review"}
    dispatch = Dispatch.objects.get()
    assert received_prompts(project.log) == [dispatch.prompt]
    assert "docs/spec.md:10-12\n```\nline 10\nline 11\nline 12\n```" in dispatch.prompt


def test_dispatch_feeds_an_opted_in_session_one_task_after_another(project, jobs):
    session_services.session_create("agent-1", "fake")
    session_services.session_set_auto_dispatch("agent-1", True)
    first = services.task_create("first", priority=2)
    second = services.task_create("second", priority=1, depends_on=[first.id])
    wait_for(jobs, lambda: status_of(first.id) == "review", timeout=20, what="first in review")
    assert status_of(second.id) == "ready", "it waits until the first is done"
    first = Task.objects.get(pk=first.id)
    services.task_done(first.id, expected_version=first.version, note="looks good")
    wait_for(jobs, lambda: status_of(second.id) == "review", timeout=20, what="second in review")
    assert [p.splitlines()[0] for p in received_prompts(project.log)] == ["Task 1: first", "Task 2: second"]


def test_a_killed_session_fails_its_task(project, jobs):
    session_services.session_create("agent-1", "fake")
    wait_for(jobs, lambda: Session.objects.get(pk="agent-1").status == "idle", what="idle")
    task = services.task_create("long", "work:30")
    task = services.task_assign(task.id, "agent-1", expected_version=task.version)
    wait_for(jobs, lambda: status_of(task.id) == "in_progress", what="in progress")
    session_services.session_kill("agent-1")
    wait_for(jobs, lambda: status_of(task.id) == "failed", what="failed")
    assert Task.objects.get(pk=task.id).result_note.startswith("session agent-1 killed")


def test_the_git_watch_records_a_change_under_the_claim_of_a_task_in_review_for_the_task_in_progress(
    project, monkeypatch
):
    for role in ("AUTHOR", "COMMITTER"):
        monkeypatch.setenv(f"GIT_{role}_NAME", "Test")
        monkeypatch.setenv(f"GIT_{role}_EMAIL", "test@example.com")
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", "/dev/null")
    (project.root / "src").mkdir()
    (project.root / "src" / "a.py").write_text("one\n")
    (project.root / ".gitignore").write_text("chorus.toml\n")
    for args in (("init", "-q", "-b", "main"), ("add", "-A"), ("commit", "-q", "-m", "start")):
        subprocess.run(["git", "-C", str(project.root), *args], check=True, capture_output=True)
    monitor, runner, watch = SessionMonitor(), PolicyRunner(), ChangeWatch()
    monitor.start()
    runner.start()
    watch.start()
    jobs = [monitor, runner, QuietPeriod(), watch]
    try:
        for name in ("alice", "bob"):
            session_services.session_create(name, "fake")
        wait_for(jobs, lambda: set(Session.objects.values_list("status", flat=True)) == {"idle"}, what="both idle")
        holder = services.task_create("holds src", "work:1 then stop", claims=["src/**"])
        holder = services.task_assign(holder.id, "alice", expected_version=holder.version)
        wait_for(jobs, lambda: status_of(holder.id) == "review", timeout=20, what="the holder in review")
        changer = services.task_create("holds docs", "work:30", claims=["docs/**"])
        changer = services.task_assign(changer.id, "bob", expected_version=changer.version)
        wait_for(jobs, lambda: status_of(changer.id) == "in_progress", what="the changer in progress")
        live = sorted((c.task_id, c.glob, c.session) for c in selectors.live_claims())
        assert live == [(holder.id, "src/**", "alice"), (changer.id, "docs/**", "bob")]
        # bob's agent edits a file under alice's claim with a tool no hook guards (its shell, say)
        (project.root / "src" / "a.py").write_text("one\ntwo\n")
        [denial] = wait_for(jobs, lambda: selectors.edit_denials(involving="alice"), what="the change under a claim")
    finally:
        watch.stop()
        monitor.stop()
    assert (denial.session, denial.tool, denial.task_id, denial.path) == ("bob", "git", changer.id, "src/a.py")
    [recorded] = store.read(stream_type="agent", stream_id="bob", event_types=["ClaimedPathChanged"])
    found = recorded.event
    assert (found.task_id, found.path, found.glob, found.holder_task, found.holder_session) == (
        changer.id,
        "src/a.py",
        "src/**",
        holder.id,
        "alice",
    )
    # the change is the task in progress's alone: the task in review made none
    assert [c.path for c in selectors.changed_files(changer.id)] == ["src/a.py"]
    assert selectors.changed_files(holder.id) == []


def save_like_an_editor(path, text):
    """Write a temporary file and rename it over the document, as most editors save."""
    temporary = path.with_name(f".{path.name}.tmp")
    temporary.write_text(text)
    os.replace(temporary, path)


def test_references_follow_files_edited_under_the_watcher(docs):
    spec = docs.root / "spec.md"
    spec.write_text(numbered(30))
    watcher = DocumentWatcher()
    watcher.start()
    try:
        wait_for([watcher], lambda: Document.objects.filter(pk="spec.md").exists(), what="the first scan")
        task = services.task_create("T", references=["spec.md:10-12", "spec.md:20-20"])
        save_like_an_editor(spec, "# Title\n\n" + numbered(30))
        wait_for([watcher], lambda: Reference.objects.get(pk="1.1").start == 12, what="re-anchored")
        assert (Reference.objects.get(pk="1.2").start, Reference.objects.get(pk="1.2").state) == (22, "current")
        save_like_an_editor(spec, "# Title\n\n" + numbered(30).replace("line 11\n", "line eleven\n"))
        wait_for([watcher], lambda: Reference.objects.get(pk="1.1").state == "stale", what="stale")
        assert "-line 11\n+line eleven" in Reference.objects.get(pk="1.1").diff
        spec.unlink()
        wait_for([watcher], lambda: Reference.objects.get(pk="1.2").state == "missing", what="missing")
        assert Task.objects.get(pk=task.id).stale_references == 2
    finally:
        watcher.stop()
