"""Where a task works, without git: its isolation chosen and checked, a worktree task going only to the session in
its worktree (and that session taking only it), dispatch leaving both alone, and refusals that come before git runs
(tests/tasks_app/test_worktrees.py runs the real git)."""

import pytest

from events_app import store
from events_app.errors import DomainError
from tasks_app import events as ev
from tasks_app import selectors, services, worktrees
from tasks_app.errors import TaskConflict, TaskError
from tasks_app.models import Task
from tests.tasks_app.factories import SessionFactory, TaskFactory
from tests.tasks_app.helpers import event_types

pytestmark = pytest.mark.django_db


def with_worktree(task: Task, path: str = "/tmp") -> Task:
    """The task as if its worktree were made at `path` (the sessions of these tests work in /tmp)."""
    made = ev.WorktreeCreated(path=path, branch=f"chorus/task-{task.id}", base="HEAD", base_commit="a" * 40)
    store.append("task", str(task.id), task.version, [ev.TaskIsolationChosen(isolation="worktree"), made])
    return Task.objects.get(pk=task.id)


def test_a_task_is_made_shared_unless_it_asks_for_a_worktree(docs):
    assert services.task_create("Shared").isolation == "shared"
    isolated = services.task_create("Isolated", isolation="worktree")
    assert (isolated.isolation, isolated.worktree_state) == ("worktree", "")
    assert event_types("task", str(isolated.id)) == ["TaskCreated", "TaskIsolationChosen"]
    with pytest.raises(TaskError, match="isolation is 'shared' or 'worktree', not 'sandbox'"):
        services.task_create("Odd", isolation="sandbox")
    assert Task.objects.count() == 2


def test_isolation_changes_until_the_task_is_at_work_or_has_its_worktree(docs):
    task = TaskFactory()
    task = services.task_set_isolation(task.id, "worktree", expected_version=task.version)
    assert task.isolation == "worktree"
    assert services.task_set_isolation(task.id, "worktree", expected_version=task.version).version == task.version
    made = with_worktree(services.task_set_isolation(task.id, "shared", expected_version=task.version), "/w")
    with pytest.raises(TaskConflict, match="has its worktree at /w: remove it first"):
        services.task_set_isolation(made.id, "shared", expected_version=made.version)
    SessionFactory(name="s1")
    working = services.task_assign(TaskFactory().id, "s1", expected_version=1)
    with pytest.raises(TaskConflict, match="cannot change while it is at work"):
        services.task_set_isolation(working.id, "worktree", expected_version=working.version)


def test_a_worktree_task_goes_only_to_the_session_in_its_worktree(docs):
    SessionFactory(name="s1")  # works in /tmp
    isolated = services.task_create("Isolated", isolation="worktree")
    with pytest.raises(TaskConflict, match="start a session for it there"):
        services.task_assign(isolated.id, "s1", expected_version=isolated.version)
    isolated = with_worktree(Task.objects.get(pk=isolated.id), "/elsewhere")
    with pytest.raises(TaskConflict, match="session s1 does not work there"):
        services.task_assign(isolated.id, "s1", expected_version=isolated.version)
    home = with_worktree(TaskFactory())
    shared = TaskFactory()
    with pytest.raises(TaskConflict, match=f"session s1 works in task {home.id}'s worktree: it takes only task"):
        services.task_assign(shared.id, "s1", expected_version=shared.version)
    assert services.task_assign(home.id, "s1", expected_version=home.version).session == "s1"


def test_dispatch_leaves_worktree_tasks_and_the_sessions_in_worktrees_alone(docs):
    SessionFactory(name="s1", auto_dispatch=True)
    with_worktree(TaskFactory(priority=5), "/srv/elsewhere")
    isolated = services.task_create("Isolated, no worktree yet", priority=9, isolation="worktree")
    shared = TaskFactory()
    assert [t.id for t in selectors.dispatchable_tasks()] == [shared.id]
    assert [s.name for s in selectors.free_sessions()] == ["s1"]
    with_worktree(TaskFactory())  # at /tmp, where s1 works
    assert selectors.free_sessions() == []
    assert services.dispatch_round().assigned == []
    assert Task.objects.get(pk=isolated.id).status == "ready"


def test_a_directory_belongs_to_the_worktree_that_holds_it_not_to_one_named_alike(docs):
    task = with_worktree(TaskFactory(), "/w/task-1")
    assert selectors.worktree_owner("/w/task-1") == task.id
    assert selectors.worktree_owner("/w/task-1/src") == task.id
    assert selectors.worktree_owner("/w/task-10") is None


@pytest.mark.parametrize("base", ["--upload-pack=evil", "a b", "", "x" * 300, "-"])
def test_a_base_that_is_no_name_is_refused_before_git_runs(docs, base):
    task = TaskFactory()
    with pytest.raises(TaskError, match="is no branch, tag or commit name"):
        worktrees.create(task.id, base or " ")


def test_worktree_moves_that_cannot_start_are_refused_before_git_runs(docs):
    task = TaskFactory()
    with pytest.raises(TaskConflict, match=f"task {task.id} has no worktree"):
        services.worktree_merge(task.id, expected_version=task.version)
    with pytest.raises(TaskConflict, match=f"task {task.id} has no worktree"):
        services.worktree_remove(task.id, expected_version=task.version)
    made = with_worktree(task, "/w")
    with pytest.raises(TaskConflict, match="has its worktree already"):
        services.worktree_create(made.id, expected_version=made.version)
    done = services.task_done(
        services.task_assign(TaskFactory().id, SessionFactory().name, expected_version=1).id, expected_version=2
    )
    with pytest.raises(TaskConflict, match="a worktree is made for a backlog or ready task"):
        services.worktree_create(done.id, expected_version=done.version)
    with pytest.raises(TaskConflict, match="is done"):
        services.worktree_start(done.id, "aider", expected_version=done.version)


def test_the_read_model_follows_a_worktree_through_merge_and_removal(docs):
    task = with_worktree(TaskFactory())
    merged = ev.WorktreeMerged(branch=task.worktree_branch, into="main", commit="b" * 40, fast_forward=True)
    removed = ev.WorktreeRemoved(
        path="/tmp", branch=task.worktree_branch, branch_tip="b" * 40, forced=False, dropped=""
    )
    store.append("task", str(task.id), task.version, [merged, removed])
    task = Task.objects.get(pk=task.id)
    assert (task.worktree_state, task.worktree_merged_commit, task.worktree_path) == ("removed", "b" * 40, "/tmp")
    assert worktrees.branch_diff(TaskFactory()) is None


def test_starting_in_a_worktree_checks_the_session_before_any_git_runs(docs):
    task = services.task_create("Isolated", isolation="worktree")
    SessionFactory(name="taken")
    for profile, session, problem in [
        ("no-such-profile", None, "no-such-profile"),
        ("shell", "bad name!", "invalid session name"),
        ("shell", "taken", "a session named 'taken' is already running"),
        ("shell", None, "profile shell runs no agent"),
    ]:
        with pytest.raises(DomainError, match=problem):
            services.worktree_start(task.id, profile, expected_version=task.version, session=session)
    assert Task.objects.get(pk=task.id).worktree_state == ""
