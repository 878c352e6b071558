"""Path claims (tasks_app.services.claims): declared on a task, live while it is at work or in review, refused when
they overlap another task's with the holder named, skipped by dispatch, released when the task leaves, all of it
outside a git repository too; and the check an agent's edit goes through."""

import os

import pytest

from events_app import projection
from sessions_app.models import OutboxMessage
from tasks_app import git, selectors, services
from tasks_app.errors import TaskConflict, TaskError
from tasks_app.models import PathClaim, SessionSlot, Task
from tasks_app.services.claims import claims_on_assignment, edit_check, project_paths
from tests.tasks_app.factories import SessionFactory, TaskFactory, assigned_task
from tests.tasks_app.helpers import delivery_starts, event_types, session_status

pytestmark = pytest.mark.django_db


def live() -> list[tuple[int, str]]:
    return [(claim.task_id, claim.glob) for claim in selectors.live_claims()]


def to_review(task: Task) -> Task:
    delivery_starts(task.message_id)
    session_status(task.session, "busy")
    session_status(task.session, "idle")
    return selectors.task(task.id)


def test_a_task_declares_claims_that_go_live_when_it_is_assigned(docs):
    task = TaskFactory(claims=["src/api/", "./docs/x.md"])
    assert task.claims == ["docs/x.md", "src/api/**"]
    assert live() == []
    assigned_task("s1", claims=["src/web/**"])
    assert live() == [(2, "src/web/**")]
    assert PathClaim.objects.get().session == "s1"
    assert projection.verify() == []


@pytest.mark.parametrize("bad", ["/etc/passwd", "../elsewhere/**", "src/../../x"])
def test_claims_outside_the_root_are_refused_and_nothing_is_written(docs, bad):
    with pytest.raises(TaskError, match=r"absolute|'\.\.'"):
        services.task_create("t", claims=["ok/**", bad])
    assert Task.objects.count() == 0


def test_an_overlapping_task_is_refused_with_the_holder_named_and_nothing_of_it_written(docs):
    assigned_task("alice", claims=["src/api/**"])
    SessionFactory(name="bob")
    second = TaskFactory(claims=["src/api/views.py"])
    with pytest.raises(TaskConflict, match=r"src/api/views.py is claimed by task 1 \(session alice\) as src/api/\*\*"):
        services.task_assign(second.id, "bob", expected_version=second.version)
    assert selectors.task(second.id).status == "ready"
    assert SessionSlot.objects.filter(pk="bob").first() is None
    assert list(OutboxMessage.objects.values_list("session", flat=True)) == ["alice"]


def test_dispatch_skips_a_task_whose_claims_overlap_and_gives_the_next(docs):
    assigned_task("alice", claims=["src/**"])
    SessionFactory(name="bob", auto_dispatch=True)
    blocked = TaskFactory(priority=9, claims=["src/a.py"])
    free = TaskFactory(priority=1, claims=["docs/**"])
    done = services.dispatch_round()
    assert [(t.id, t.session) for t in done.assigned] == [(free.id, "bob")]
    assert done.skipped == [(blocked.id, "src/a.py is claimed by task 1 (session alice) as src/**")]


def test_a_task_in_a_worktree_of_its_own_takes_no_claims_on_the_shared_checkout(docs):
    assigned_task("alice", claims=["src/**"])
    isolated = services.task_create("isolated", claims=["src/**"], isolation="worktree")
    claims_on_assignment(isolated, "bob")
    assert live() == [(1, "src/**")]


def test_claims_stay_through_review_and_go_when_the_task_is_done(docs):
    task = assigned_task("alice", claims=["src/**"])
    task = to_review(task)
    assert task.status == "review"
    assert live() == [(task.id, "src/**")]
    services.task_done(task.id, expected_version=task.version)
    assert live() == []
    assert event_types("claim") == ["PathsClaimed", "PathsReleased"]


@pytest.mark.parametrize("leave", ["task_unassign", "task_cancel", "task_fail"])
def test_claims_go_when_the_task_leaves_work(docs, leave):
    task = assigned_task("alice", claims=["src/**"])
    getattr(services, leave)(task.id, expected_version=task.version)
    assert live() == []


def test_editing_a_held_tasks_claims_takes_and_releases_them_at_once(docs):
    assigned_task("bob", claims=["lib/**"])
    task = assigned_task("alice", claims=["src/**"])
    task = services.task_update(task.id, expected_version=task.version, claims=["docs/**"])
    assert live() == [(task.id, "docs/**"), (1, "lib/**")]
    with pytest.raises(TaskConflict, match="lib/x is claimed by task 1"):
        services.task_update(task.id, expected_version=task.version, claims=["lib/x"])
    assert selectors.task(task.id).claims == ["docs/**"]
    assert projection.verify() == []


def test_a_task_claims_more_and_releases_what_it_holds(docs):
    task = assigned_task("alice")
    assert services.claims_take(task, "alice", ["a/**", "b"], source="agent", reason="r") == ["a/**", "b"]
    assert services.claims_take(task, "alice", ["a/**"], source="agent", reason="r") == []
    with pytest.raises(TaskConflict, match=r"holds no claim c \(it holds: a/\*\*, b\)"):
        services.claims_release(task.id, ["c"], reason="done with it")
    assert services.claims_release(task.id, ["b"], reason="done with it") == ["b"]
    assert live() == [(task.id, "a/**")]


@pytest.mark.integration
def test_claims_work_when_project_root_is_not_a_git_repository(docs):
    # the real git (integration tier) says so: no HEAD, no working tree, no hooks directory
    assert (git.git_head(), git.prefix(), git.hooks_directory()) == (None, None, None)
    holder = assigned_task("alice", claims=["src/**"])
    assert selectors.dispatches(holder.id, 1).first().git_head_at_dispatch is None
    assert services.claims_take(holder, "alice", ["docs/x.md"], source="agent", reason="r") == ["docs/x.md"]
    assert live() == [(holder.id, "docs/x.md"), (holder.id, "src/**")]
    SessionFactory(name="bob")
    second = TaskFactory(claims=["src/a.py"])
    with pytest.raises(TaskConflict, match=r"src/a.py is claimed by task 1 \(session alice\) as src/\*\*"):
        services.task_assign(second.id, "bob", expected_version=second.version)
    assert not edit_check("bob", "Edit", ["docs/x.md"]).allowed
    with pytest.raises(TaskError, match="not in a git repository: no pre-commit guard \\(claims still work\\)"):
        services.pre_commit_install()
    assert services.claims_release(holder.id, ["docs/x.md"], reason="done with it") == ["docs/x.md"]
    services.task_done(holder.id, expected_version=selectors.task(holder.id).version)
    assert live() == []
    second = selectors.task(second.id)
    assert services.task_assign(second.id, "bob", expected_version=second.version).session == "bob"
    assert live() == [(second.id, "src/a.py")]


# --- the check before an edit -----------------------------------------------------------------------------------


def test_an_edit_under_another_tasks_claim_is_denied_naming_the_holder_and_recorded(docs):
    assigned_task("alice", claims=["src/**"])
    mine = assigned_task("bob")
    verdict = edit_check("bob", "Edit", ["src/a.py"])
    assert not verdict.allowed
    assert "src/a.py is claimed by task 1 (session alice)" in verdict.message
    assert "claim_paths" in verdict.message and "ask" in verdict.message
    denial = selectors.edit_denials("bob")[0]
    assert (denial.path, denial.holder_task, denial.task_id, denial.tool) == ("src/a.py", 1, mine.id, "Edit")
    assert projection.verify() == []


def test_an_edit_of_an_unclaimed_path_is_claimed_for_the_sessions_task(docs):
    task = assigned_task("bob")
    verdict = edit_check("bob", "Write", ["new[1].py"])
    assert verdict.allowed and verdict.claimed == "new[[]1].py"
    assert live() == [(task.id, "new[[]1].py")]
    assert edit_check("bob", "Write", ["new[1].py"]).message == f"new[1].py is claimed by your task {task.id}"
    assert not edit_check("alice", "Write", ["new[1].py"]).allowed


def test_without_auto_claim_or_without_a_task_an_unclaimed_edit_is_allowed_and_nothing_written(docs, settings):
    settings.CHORUS_CLAIMS_AUTO = False
    assigned_task("bob")
    assert edit_check("bob", "Edit", ["x.py"]).allowed
    assert edit_check("nobody", "Edit", ["x.py"]).allowed
    assert live() == []
    assert event_types("agent") == []


def test_read_only_an_edit_under_a_claim_is_still_refused_and_a_free_one_allowed_unclaimed(docs, settings):
    assigned_task("alice", claims=["src/**"])
    assigned_task("bob")
    settings.CHORUS_READ_ONLY = True
    assert not edit_check("bob", "Edit", ["src/a.py"]).allowed
    free = edit_check("bob", "Edit", ["b.py"])
    assert free.allowed and free.claimed is None and "read-only" in free.message
    assert event_types("agent") == [] and live() == [(1, "src/**")]


def test_the_session_of_a_task_in_review_may_still_edit_its_claims_until_it_takes_another_task(docs):
    task = to_review(assigned_task("alice", claims=["src/**"]))
    assert edit_check("alice", "Edit", ["src/a.py"]).allowed
    assigned_task("alice")
    assert not edit_check("alice", "Edit", ["src/a.py"]).allowed
    assert live()[0] == (task.id, "src/**")


def test_project_paths_are_relative_to_the_root_and_follow_links_inside_it(docs, tmp_path):
    root = docs.root
    (root / "src").mkdir()
    (root / "src" / "real.py").write_text("x")
    os.symlink(root / "src" / "real.py", root / "link.py")
    os.symlink(tmp_path, root / "out")
    assert project_paths(str(root / "src" / "real.py")) == ["src/real.py"]
    assert project_paths("real.py", cwd=str(root / "src")) == ["src/real.py"]
    assert project_paths(str(root / "link.py")) == ["link.py", "src/real.py"]
    assert project_paths(str(root / "out" / "x")) == ["out/x"]
    assert project_paths(str(root / "src" / ".." / ".." / "etc")) == []
    assert edit_check("bob", "Edit", []).allowed


def test_a_change_git_found_under_another_tasks_claim_is_recorded_once_and_shown_on_both_sessions(docs):
    from tasks_app.services.claims import claims_breached

    holder = assigned_task("alice", claims=["src/api/**"])
    changer = assigned_task("bob")

    found = claims_breached(changer.id, ["src/api/views.py", "README.md"])
    again = claims_breached(changer.id, ["src/api/views.py"])

    assert [(e.path, e.holder_task, e.holder_session) for e in found] == [("src/api/views.py", holder.id, "alice")]
    assert again == []
    assert "ClaimedPathChanged" in event_types("agent", "bob")
    for name in ("alice", "bob"):
        [shown] = selectors.edit_denials(involving=name)
        assert (shown.session, shown.tool, shown.holder_session) == ("bob", "git", "alice")
    assert claims_breached(holder.id, ["src/api/views.py"]) == []  # its own claim
    assert projection.verify() == []


def test_a_change_after_the_fact_is_breached_by_the_edit_checks_rule_for_the_sessions_task_in_review(docs):
    from tasks_app.services.claims import claims_breached

    holder = to_review(assigned_task("alice", claims=["src/**"]))
    later = to_review(assigned_task("alice"))
    # alice has no task at work: the edit check lets her change her task in review's claim, so git's change is none
    assert edit_check("alice", "Edit", ["src/a.py"]).allowed
    assert claims_breached(later.id, ["src/a.py"]) == []
    # once alice works on another task, both refuse it alike
    current = assigned_task("alice")
    assert not edit_check("alice", "Edit", ["src/a.py"]).allowed
    [breach] = claims_breached(current.id, ["src/a.py"])
    assert (breach.holder_task, breach.holder_session) == (holder.id, "alice")
