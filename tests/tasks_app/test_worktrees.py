"""A task's own worktree end to end, with real git in temporary repositories: made on chorus/task-N from a base, a
real session (private tmux server, the fake agent) started in it and given the task, commits merged back by
fast-forward or merge commit, conflicts reported with nothing lost, removal refused while work would be lost."""

import io
import subprocess
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.core.management import CommandError, call_command
from django.test import Client

from events_app.models import StoredEvent
from events_app.policies import PolicyRunner
from sessions_app import services as session_services
from sessions_app.models import Session
from sessions_app.worker import SessionMonitor
from tasks_app import changes, selectors, services, worktrees
from tasks_app.errors import TaskConflict, TaskError
from tasks_app.models import Dispatch, Task
from tasks_app.worker import QuietPeriod
from tasks_app.worktrees import MergeConflict, NotARepository
from tests.sessions_app.conftest import received_prompts
from tests.tasks_app.test_integration import wait_for

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def git(directory, *args) -> str:
    return subprocess.run(["git", "-C", str(directory), *args], check=True, capture_output=True, text=True).stdout


def commit_file(directory, name, text, message="change") -> str:
    (directory / name).write_text(text)
    git(directory, "add", name)
    git(directory, "commit", "-q", "-m", message)
    return git(directory, "rev-parse", "HEAD").strip()


@pytest.fixture
def repo(tmp_path, settings, monkeypatch):
    """PROJECT_ROOT is a git repository with one commit on main; worktrees go under tmp_path/worktrees."""
    for role in ("AUTHOR", "COMMITTER"):
        monkeypatch.setenv(f"GIT_{role}_NAME", "Test")
        monkeypatch.setenv(f"GIT_{role}_EMAIL", "test@example.com")
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", "/dev/null")
    root = tmp_path / "project"  # the one the `project` fixture makes, when a test asks for both (it first)
    root.mkdir(exist_ok=True)
    settings.PROJECT_ROOT = root
    settings.CHORUS_WORKTREE_DIR = tmp_path / "worktrees"
    git(root, "init", "-q", "-b", "main")
    (root / ".gitignore").write_text("chorus.toml\n")
    git(root, "add", ".gitignore")
    commit_file(root, "app.py", "one\ntwo\nthree\n", "start")
    return root


def run(*args) -> str:
    out = io.StringIO()
    call_command("tasks", *args, stdout=out)
    return out.getvalue()


def events_of(task_id: int) -> list[str]:
    return list(
        StoredEvent.objects.filter(stream_type="task", stream_id=str(task_id))
        .order_by("version")
        .values_list("event_type", flat=True)
    )


def test_a_worktree_is_made_on_its_branch_from_the_base_the_person_chose(repo):
    first = git(repo, "rev-parse", "HEAD").strip()
    commit_file(repo, "app.py", "one\n", "later")
    task = services.task_create("Isolated", isolation="worktree")
    task = services.worktree_create(task.id, expected_version=task.version, base=first)
    assert (task.isolation, task.worktree_state) == ("worktree", "active")
    assert task.worktree_branch == f"chorus/task-{task.id}"
    assert task.worktree_base_commit == first
    assert git(task.worktree_path, "rev-parse", "HEAD").strip() == first
    assert git(task.worktree_path, "branch", "--show-current").strip() == f"chorus/task-{task.id}"
    assert events_of(task.id) == ["TaskCreated", "TaskIsolationChosen", "WorktreeCreated"]


def test_an_existing_branch_or_a_base_that_names_nothing_is_refused_with_nothing_made(repo):
    task = services.task_create("Isolated")
    git(repo, "branch", f"chorus/task-{task.id}")
    with pytest.raises(TaskConflict, match="already exists"):
        services.worktree_create(task.id, expected_version=task.version)
    git(repo, "branch", "-D", f"chorus/task-{task.id}")
    for base in ("no-such-branch", "--upload-pack=x", "main..HEAD"):
        with pytest.raises(TaskError, match="base"):
            services.worktree_create(task.id, expected_version=task.version, base=base)
    assert events_of(task.id) == ["TaskCreated"]
    assert not (repo.parent / "worktrees" / f"task-{task.id}").exists()


def test_outside_a_git_repository_worktrees_say_so_and_stay_off(tmp_path, settings):
    settings.PROJECT_ROOT = tmp_path / "plain"
    settings.PROJECT_ROOT.mkdir()
    settings.CHORUS_WORKTREE_DIR = tmp_path / "worktrees"
    task = services.task_create("Isolated", isolation="worktree")
    with pytest.raises(NotARepository, match="not in a git repository"):
        services.worktree_create(task.id, expected_version=task.version)
    assert Task.objects.get(pk=task.id).worktree_state == ""
    assert not settings.CHORUS_WORKTREE_DIR.exists()


def _made(repo) -> Task:
    task = services.task_create("Isolated", isolation="worktree")
    return services.worktree_create(task.id, expected_version=task.version)


def test_commits_in_the_worktree_merge_back_by_fast_forward(repo):
    task = _made(repo)
    tip = commit_file(repo.parent / "worktrees" / f"task-{task.id}", "new.py", "print(1)\n", "feature")
    task, merged = services.worktree_merge(task.id, expected_version=task.version)
    assert (merged.into, merged.commit, merged.fast_forward, merged.changed) == ("main", tip, True, True)
    assert (repo / "new.py").read_text() == "print(1)\n"
    assert task.worktree_merged_commit == tip
    assert events_of(task.id)[-1] == "WorktreeMerged"


def test_no_ff_and_a_moved_checkout_make_a_merge_commit(repo):
    task = _made(repo)
    worktree = repo.parent / "worktrees" / f"task-{task.id}"
    commit_file(worktree, "new.py", "print(1)\n", "feature")
    _task, merged = services.worktree_merge(task.id, expected_version=task.version, no_ff=True)
    assert not merged.fast_forward
    assert len(git(repo, "rev-list", "--parents", "-n", "1", "HEAD").split()) == 3
    commit_file(worktree, "more.py", "print(2)\n", "more")
    commit_file(repo, "other.py", "print(3)\n", "meanwhile on main")
    task = Task.objects.get(pk=task.id)
    _task, merged = services.worktree_merge(task.id, expected_version=task.version)
    assert merged.changed and not merged.fast_forward
    assert (repo / "more.py").exists() and (repo / "other.py").exists()
    task = Task.objects.get(pk=task.id)
    _task, again = services.worktree_merge(task.id, expected_version=task.version)
    assert not again.changed


def test_a_merge_with_conflicts_names_the_files_and_loses_nothing(repo):
    task = _made(repo)
    worktree = repo.parent / "worktrees" / f"task-{task.id}"
    branch_tip = commit_file(worktree, "app.py", "one\nTWO (task)\nthree\n", "task edit")
    main_tip = commit_file(repo, "app.py", "one\nTWO (main)\nthree\n", "main edit")
    with pytest.raises(MergeConflict, match=r"conflicts in app\.py") as refused:
        services.worktree_merge(task.id, expected_version=task.version)
    assert refused.value.files == ["app.py"]
    assert git(repo, "rev-parse", "HEAD").strip() == main_tip
    assert git(repo, "status", "--porcelain").strip() == ""
    assert (repo / "app.py").read_text() == "one\nTWO (main)\nthree\n"
    assert git(repo, "rev-parse", f"chorus/task-{task.id}").strip() == branch_tip
    assert (worktree / "app.py").read_text() == "one\nTWO (task)\nthree\n"
    assert events_of(task.id)[-1] == "WorktreeCreated"


def test_a_merge_the_shared_checkouts_own_changes_stand_in_the_way_of_is_refused_and_they_stay(repo):
    task = _made(repo)
    commit_file(repo.parent / "worktrees" / f"task-{task.id}", "app.py", "task\n", "task edit")
    (repo / "app.py").write_text("a person's edit, not committed\n")
    with pytest.raises(TaskConflict, match=r"git merge refused: .*local changes"):
        services.worktree_merge(task.id, expected_version=task.version)
    assert (repo / "app.py").read_text() == "a person's edit, not committed\n"
    assert events_of(task.id)[-1] == "WorktreeCreated"


def test_uncommitted_changes_are_not_merged_silently(repo):
    task = _made(repo)
    (repo.parent / "worktrees" / f"task-{task.id}" / "app.py").write_text("edited, not committed\n")
    with pytest.raises(TaskConflict, match=r"1 uncommitted change\(s\)"):
        services.worktree_merge(task.id, expected_version=task.version)


def test_removing_a_worktree_that_holds_work_is_refused_unless_forced(repo):
    task = _made(repo)
    worktree = repo.parent / "worktrees" / f"task-{task.id}"
    tip = commit_file(worktree, "new.py", "print(1)\n", "feature")
    (worktree / "scratch.txt").write_text("notes\n")
    with pytest.raises(TaskConflict, match=r"1 commit\(s\) not merged and 1 uncommitted change\(s\)"):
        services.worktree_remove(task.id, expected_version=task.version)
    assert worktree.is_dir() and git(repo, "rev-parse", f"chorus/task-{task.id}").strip() == tip
    task = services.worktree_remove(task.id, expected_version=task.version, force=True)
    assert task.worktree_state == "removed"
    assert not worktree.exists()
    assert git(repo, "branch", "--list", f"chorus/task-{task.id}").strip() == ""
    removed = StoredEvent.objects.filter(stream_id=str(task.id), event_type="WorktreeRemoved").get()
    assert removed.data["branch_tip"] == tip and removed.data["forced"]
    assert "1 commit(s) not merged" in removed.data["dropped"]


def test_a_merged_worktree_is_removed_without_force_and_a_new_one_can_be_made(repo):
    task = _made(repo)
    commit_file(repo.parent / "worktrees" / f"task-{task.id}", "new.py", "print(1)\n", "feature")
    task, _merged = services.worktree_merge(task.id, expected_version=task.version)
    task = services.worktree_remove(task.id, expected_version=task.version)
    removed = StoredEvent.objects.filter(stream_id=str(task.id), event_type="WorktreeRemoved").get()
    assert not removed.data["forced"] and removed.data["dropped"] == ""
    task = services.worktree_create(task.id, expected_version=task.version)
    assert task.worktree_state == "active"


def test_the_branch_diff_is_the_worktree_against_its_base(repo):
    task = _made(repo)
    worktree = repo.parent / "worktrees" / f"task-{task.id}"
    commit_file(worktree, "new.py", "print(1)\n", "feature")
    (worktree / "app.py").write_text("one\nthree\n")
    (worktree / "loose.txt").write_text("untracked\n")
    shown = worktrees.branch_diff(Task.objects.get(pk=task.id))
    assert {(f.path, f.status, f.added, f.removed) for f in shown.files} == {
        ("new.py", "A", 1, 0),
        ("app.py", "M", 0, 1),
    }
    assert "+print(1)" in shown.text and "-two" in shown.text
    assert shown.untracked == ["loose.txt"]
    assert worktrees.branch_diff(services.task_create("Shared")) is None


def test_a_worktree_tasks_review_shows_its_branch_against_its_base(repo):
    task = _made(repo)
    worktree = repo.parent / "worktrees" / f"task-{task.id}"
    commit_file(worktree, "new.py", "print(1)\n", "feature")
    found = Task.objects.get(pk=task.id)
    assert changes.review_diff(found) == []  # not dispatched yet: nothing to review, no git run for the page
    found.dispatch_id = "d1"  # as once it was dispatched (the diff reads only the task's worktree fields)
    [shown] = changes.review_diff(found)
    assert (shown.path, shown.added, shown.removed) == ("new.py", 1, 0)
    assert [(line.kind, line.text, line.new) for line in shown.lines[1:]] == [("add", "print(1)", 1)]


def test_a_session_started_for_the_task_works_in_its_worktree_and_only_on_it(project, repo, tmux_server):
    task = services.task_create("Isolated", "work:1 then stop", isolation="worktree")
    other = services.task_create("Shared work")
    session_services.session_create("shared", "fake")
    with pytest.raises(TaskConflict, match="start a session for it there"):
        services.task_assign(task.id, "shared", expected_version=task.version)
    with pytest.raises(TaskError, match="names no commit"):
        services.worktree_start(task.id, "fake", expected_version=task.version, base="no-such-base")
    assert not Session.objects.filter(pk=f"task-{task.id}").exists()
    task = services.worktree_start(task.id, "fake", expected_version=task.version)
    session = Session.objects.get(pk=f"task-{task.id}")
    assert session.cwd == task.worktree_path
    pane = next(p for p in tmux_server.list_panes() if p.pane_id == session.pane_id)
    assert pane.current_path == task.worktree_path
    assert (task.status, task.session) == ("assigned", session.name)
    with pytest.raises(TaskConflict, match=f"works in task {task.id}'s worktree"):
        services.task_assign(other.id, session.name, expected_version=other.version)
    assert [t.id for t in selectors.dispatchable_tasks()] == [other.id]
    assert [s.name for s in selectors.free_sessions()] in ([], ["shared"])  # never the worktree's session
    task = services.task_done(task.id, expected_version=task.version)
    with pytest.raises(TaskConflict, match=f"session {session.name} works in task {task.id}'s worktree"):
        services.worktree_remove(task.id, expected_version=task.version)
    session_services.session_kill(session.name)
    assert services.worktree_remove(task.id, expected_version=task.version).worktree_state == "removed"


def test_the_command_line_makes_merges_and_removes_a_worktree(repo):
    assert "added task 1" in run("add", "Isolated", "--isolation", "worktree")
    made = run("worktree", "create", "1", "--base", "main")
    assert "on branch chorus/task-1" in made
    worktree = repo.parent / "worktrees" / "task-1"
    commit_file(worktree, "app.py", "one\nTWO (task)\nthree\n", "task edit")
    assert "(merge commit)" in run("merge", "1", "--no-ff")
    commit_file(worktree, "app.py", "one\nTWO (task, again)\nthree\n", "task edit again")
    commit_file(repo, "app.py", "one\nTWO (main)\nthree\n", "main edit")
    with pytest.raises(CommandError, match=r"merging chorus/task-1 met conflicts in app\.py: the merge was aborted"):
        run("merge", "1")
    with pytest.raises(
        CommandError, match=r"holds 1 commit\(s\) not merged: merge them first, or remove it with force"
    ):
        run("worktree", "remove", "1")
    assert "app.py" in run("worktree", "diff", "1")
    assert "are removed" in run("worktree", "remove", "1", "--force")
    assert not worktree.exists()


def test_the_api_answers_a_conflict_with_409_and_the_files(repo):
    api = Client(HTTP_AUTHORIZATION=f"Bearer {django_settings.CHORUS_TOKEN}")
    task = _made(repo)
    commit_file(repo.parent / "worktrees" / f"task-{task.id}", "app.py", "task\n", "task edit")
    commit_file(repo, "app.py", "main\n", "main edit")
    answer = api.post(f"/api/tasks/{task.id}/merge", {"version": task.version}, content_type="application/json")
    assert answer.status_code == 409 and "conflicts in app.py" in answer.json()["detail"]
    diff = api.get(f"/api/tasks/{task.id}/worktree/diff").json()
    assert [f["path"] for f in diff["files"]] == ["app.py"] and "+task" in diff["text"]


def test_end_to_end_the_agent_gets_its_task_in_the_worktree_and_its_commit_is_merged(project, repo):
    monitor, runner = SessionMonitor(), PolicyRunner()
    monitor.start()
    runner.start()
    jobs = [monitor, runner, QuietPeriod()]
    try:
        task = services.task_create("Isolated", "work:1 then stop", isolation="worktree")
        task = services.worktree_start(task.id, "fake", expected_version=task.version)
        wait_for(jobs, lambda: Task.objects.get(pk=task.id).status == "review", timeout=30, what="review")
        (prompt,) = received_prompts(project.log)
        assert prompt.startswith(f"Task {task.id}: Isolated\n\nwork:1 then stop")
        tip = commit_file(Path(task.worktree_path), "done.txt", "the agent's work\n", "the agent's commit")
        commit_file(repo, "other.txt", "meanwhile\n", "the shared checkout moves on")
        session_services.session_kill(task.session)
        task = services.task_done(task.id, expected_version=Task.objects.get(pk=task.id).version)
        dispatch = Dispatch.objects.get(task_id=task.id)  # its HEADs are the worktree's, not the shared checkout's
        assert (dispatch.git_head_at_dispatch, dispatch.git_head_at_completion) == (task.worktree_base_commit, tip)
        task, merged = services.worktree_merge(task.id, expected_version=task.version)
        assert not merged.fast_forward and (repo / "done.txt").read_text() == "the agent's work\n"
        assert services.worktree_remove(task.id, expected_version=task.version).worktree_state == "removed"
    finally:
        monitor.stop()
