"""Following an assigned task's session from the read models the sessions worker writes: busy after the delivery
means in_progress, idle again means review, a stopped session or a failed delivery means failed."""

import subprocess
from datetime import timedelta

import pytest
from django.utils import timezone

from events_app import projection
from tasks_app import anchoring, git, services
from tasks_app.models import Dispatch, SessionSlot, Task
from tasks_app.worker import TaskDispatcher
from tests.tasks_app.helpers import (
    delivery_ends,
    delivery_starts,
    event_types,
    session_appears,
    session_status,
    session_stops,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def assigned(docs):
    session_appears("s1")
    task = services.task_create("T")
    return services.task_assign(task.id, "s1", task.version)


def status(task_id=1) -> str:
    return Task.objects.get(pk=task_id).status


def test_busy_after_the_delivery_is_in_progress_and_idle_again_is_review(assigned):
    assert services.tasks_follow() == []
    delivery_starts(assigned.message_id)
    assert services.tasks_follow() == []
    session_status("s1", "busy")
    delivery_ends(assigned.message_id)
    services.tasks_follow()
    assert status() == "in_progress"
    session_status("s1", "waiting", "permission dialog")
    session_status("s1", "busy")
    services.tasks_follow()
    assert status() == "in_progress"
    session_status("s1", "idle", "back at its prompt")
    [moved] = services.tasks_follow()
    assert moved.status == "review"
    assert SessionSlot.objects.get(pk="s1").task_id is None, "review frees the session for the next task"
    assert event_types() == ["TaskCreated", "TaskAssigned", "TaskStarted", "TaskSentToReview"]
    dispatch = Dispatch.objects.get()
    assert dispatch.started_at and dispatch.review_at and not dispatch.outcome


def test_what_the_session_did_before_the_prompt_was_typed_does_not_count(docs):
    session_appears("s1", status="busy")
    task = services.task_create("T")
    task = services.task_assign(task.id, "s1", task.version)
    session_status("s1", "idle")
    services.tasks_follow()
    assert status() == "assigned", "busy and idle before the delivery belong to an earlier prompt"
    delivery_starts(task.message_id)
    session_status("s1", "busy")
    services.tasks_follow()
    assert status() == "in_progress"


def test_a_worker_that_missed_it_all_catches_up_in_one_step(assigned):
    delivery_starts(assigned.message_id)
    session_status("s1", "busy")
    delivery_ends(assigned.message_id)
    session_status("s1", "idle")
    TaskDispatcher().tick()
    assert status() == "review"
    assert event_types()[-2:] == ["TaskStarted", "TaskSentToReview"]


def test_a_prompt_never_seen_busy_goes_to_review_after_a_quiet_period(assigned, settings):
    delivery_starts(assigned.message_id)
    delivery_ends(assigned.message_id, confirmed_by="UserPromptSubmit hook")
    services.tasks_follow()
    assert status() == "assigned"
    settings.CHORUS_TASK_QUIET_SECONDS = 0
    services.tasks_follow()
    assert status() == "review"


def test_a_session_that_stops_fails_its_task_and_frees_its_slot(assigned):
    delivery_starts(assigned.message_id)
    session_status("s1", "busy")
    services.tasks_follow()
    session_stops("s1", "pane dead (exit 1)")
    [failed] = services.tasks_follow()
    assert failed.status == "failed"
    assert failed.result_note == "session s1 stopped: pane dead (exit 1)"
    assert SessionSlot.objects.get(pk="s1").task_id is None
    assert Dispatch.objects.get().outcome == "failed"


def test_a_failed_delivery_fails_the_task(assigned):
    delivery_starts(assigned.message_id)
    delivery_ends(assigned.message_id, delivered=False)
    services.tasks_follow()
    assert Task.objects.get(pk=1).result_note == "the prompt did not reach s1: no"


def test_a_person_marks_done_after_review_and_can_reopen(assigned):
    delivery_starts(assigned.message_id)
    session_status("s1", "busy")
    session_status("s1", "idle")
    services.tasks_follow()
    task = Task.objects.get(pk=1)
    task = services.task_done(task.id, task.version, "merged in abc123")
    assert (task.status, task.result_note) == ("done", "merged in abc123")
    assert Dispatch.objects.get().outcome == "done"
    task = services.task_reopen(task.id, task.version)
    assert task.status == "ready"
    assert projection.verify() == []


def test_a_persons_change_meanwhile_wins_and_the_worker_looks_again(assigned, monkeypatch):
    delivery_starts(assigned.message_id)
    session_status("s1", "busy")
    decide = services._follow

    def decide_then_a_person_edits(task, now):
        events = decide(task, now)
        services.task_update(task.id, task.version, priority=5)
        return events

    monkeypatch.setattr(services, "_follow", decide_then_a_person_edits)
    assert services.tasks_follow() == []
    monkeypatch.undo()
    services.tasks_follow()
    assert (status(), Task.objects.get(pk=1).priority) == ("in_progress", 5)


def test_the_audit_has_the_heads_at_dispatch_and_at_completion(docs):
    heads = iter(["a" * 40, "b" * 40])
    docs.write("spec.md", "a\nb\n")
    session_appears("s1")
    with git.head_reader(lambda: next(heads)):
        task = services.task_create("T", references=["spec.md:1-2"])
        task = services.task_assign(task.id, "s1", task.version)
        task = services.task_fail(task.id, task.version, "wrong approach")
    dispatch = Dispatch.objects.get()
    assert (dispatch.git_head_at_dispatch, dispatch.git_head_at_completion) == ("a" * 40, "b" * 40)
    assert dispatch.references == [
        {"reference_id": "1.1", "path": "spec.md", "start": 1, "end": 2, "sha256": anchoring.digest("a\nb")}
    ]
    assert (dispatch.outcome, dispatch.outcome_note) == ("failed", "wrong approach")


def test_without_a_head_the_audit_heads_are_null(assigned):
    task = services.task_fail(assigned.id, assigned.version)
    dispatch = Dispatch.objects.get()
    assert (dispatch.git_head_at_dispatch, dispatch.git_head_at_completion) == (None, None)
    assert task.result_note == "marked failed by a person"
    assert timezone.now() - dispatch.finished_at < timedelta(seconds=10)


@pytest.mark.integration
def test_git_gives_the_head_of_the_project_and_none_outside_a_repository(docs):
    assert git.git_head() is None, "outside a git repository"

    def run(*args):
        subprocess.run(["git", "-C", str(docs.root), *args], check=True, capture_output=True)

    run("init", "-q")
    assert git.git_head() is None, "no commit yet"
    run("-c", "user.name=t", "-c", "user.email=t@t", "commit", "-q", "--allow-empty", "-m", "one")
    first = git.git_head()
    assert first and len(first) == 40
    run("-c", "user.name=t", "-c", "user.email=t@t", "commit", "-q", "--allow-empty", "-m", "two")
    assert git.git_head() not in (None, first)
