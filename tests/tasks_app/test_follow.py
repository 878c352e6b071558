"""A task at work follows its session, in the transaction of each event the sessions app records: busy after the
delivery began means in_progress, idle again means review, a session that ended or a prompt that was lost means
failed. A prompt never seen answered goes to review after the quiet period, on the worker's timer."""

import subprocess
from datetime import timedelta

import pytest
from django.db import transaction
from django.utils import timezone

from events_app import policies, projection, store
from sessions_app import services as session_services
from sessions_app.models import OutboxMessage
from tasks_app import anchoring, git, selectors, services
from tasks_app.models import Dispatch, SessionSlot, Task
from tests.tasks_app.factories import SessionFactory, assigned_task
from tests.tasks_app.helpers import (
    delivery_ends,
    delivery_starts,
    event_types,
    session_killed,
    session_status,
    session_stops,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def assigned(docs):
    return assigned_task("s1", title="T")


def status(task_id=1) -> str:
    return Task.objects.get(pk=task_id).status


def test_busy_after_the_delivery_is_in_progress_and_idle_again_is_review(assigned):
    delivery_starts(assigned.message_id)
    assert status() == "assigned"
    session_status("s1", "busy")
    assert status() == "in_progress"
    delivery_ends(assigned.message_id)
    session_status("s1", "waiting", "permission dialog")
    session_status("s1", "busy")
    assert status() == "in_progress"
    session_status("s1", "idle", "back at its prompt")
    assert status() == "review"
    assert SessionSlot.objects.get(pk="s1").task_id is None, "review frees the session for the next task"
    assert event_types() == ["TaskCreated", "TaskAssigned", "TaskStarted", "TaskSentToReview"]
    dispatch = Dispatch.objects.get()
    assert dispatch.started_at and dispatch.review_at and not dispatch.outcome


def test_each_move_is_caused_by_the_session_event_in_whose_transaction_it_is_recorded(assigned):
    delivery_starts(assigned.message_id)
    session_status("s1", "busy", "esc to interrupt")
    busy, started = list(store.read())[-2:]
    assert (busy.event_type, started.event_type) == ("SessionStatusChanged", "TaskStarted")
    assert started.metadata["causation_id"] == busy.position
    assert started.metadata["policy"] == "tasks_follow_their_session"
    assert started.event.evidence == "s1 went busy after its prompt was typed: esc to interrupt"
    assert started.event.evidence_position == busy.position


def test_what_the_session_did_before_the_prompt_was_typed_does_not_count(docs):
    SessionFactory(name="s1", status="busy")
    task = assigned_task("s1")
    session_status("s1", "idle")
    assert status(task.id) == "assigned", "busy and idle before the delivery belong to an earlier prompt"
    delivery_starts(task.message_id)
    session_status("s1", "busy")
    assert status(task.id) == "in_progress"


def test_a_rolled_back_session_event_moves_nothing(assigned):
    delivery_starts(assigned.message_id)
    position = store.last_position()
    with pytest.raises(RuntimeError), transaction.atomic():
        session_status("s1", "busy")
        assert status() == "in_progress"
        raise RuntimeError("the sessions worker's transaction failed")
    assert (status(), store.last_position()) == ("assigned", position)


def test_a_prompt_never_seen_busy_goes_to_review_after_a_quiet_period(assigned, settings):
    settings.CHORUS_TASK_QUIET_SECONDS = 10
    delivery_starts(assigned.message_id)
    delivery_ends(assigned.message_id, confirmed_by="UserPromptSubmit hook")
    delivered = OutboxMessage.objects.get(pk=assigned.message_id).finished_at
    assert services.tasks_review_quiet(now=delivered + timedelta(seconds=9)) == []
    [moved] = services.tasks_review_quiet(now=delivered + timedelta(seconds=10))
    assert moved.status == "review"
    started = next(store.read(stream_type="task", event_types=["TaskStarted"]))
    assert started.event.evidence == "its prompt was delivered (UserPromptSubmit hook); s1 was never seen busy"
    assert SessionSlot.objects.get(pk="s1").task_id is None


def test_a_session_seen_since_its_delivery_began_is_not_quiet(assigned):
    delivery_starts(assigned.message_id)
    later = timezone.now() + timedelta(days=1)
    assert services.tasks_review_quiet(now=later) == [], "not delivered yet"
    session_status("s1", "unknown")
    session_status("s1", "idle")
    delivery_ends(assigned.message_id)
    assert services.tasks_review_quiet(now=later) == []
    assert status() == "assigned"


def test_a_session_that_stops_fails_its_task_and_frees_its_slot(assigned):
    delivery_starts(assigned.message_id)
    session_status("s1", "busy")
    session_stops("s1", "pane dead (exit 1)")
    failed = Task.objects.get(pk=1)
    assert (failed.status, failed.result_note) == ("failed", "session s1 ended: pane dead (exit 1)")
    assert SessionSlot.objects.get(pk="s1").task_id is None
    assert Dispatch.objects.get().outcome == "failed"


@pytest.fixture(params=["the prompt's reaction first", "the task's reaction first"])
def either_reaction_first(request):
    """The two reactions to a session's end in one order or the other (they run in the order they were
    registered, which is the order their modules were imported)."""
    names = ["queued_messages_fail_when_the_session_ends", "tasks_fail_with_their_session"]
    policies.discover()
    registered = dict(policies._policies)
    first, second = names if request.param.startswith("the prompt") else names[::-1]
    others = {name: found for name, found in registered.items() if name not in names}
    policies._policies.clear()
    policies._policies.update({first: registered[first], second: registered[second], **others})
    policies._index()
    yield
    policies._policies.clear()
    policies._policies.update(registered)
    policies._index()


@pytest.mark.usefixtures("either_reaction_first")
def test_a_killed_session_fails_its_task_and_its_queued_prompt_with_the_kill_as_the_reason(assigned):
    """The kill is the reason, whichever reaction to it runs first (the queued prompt failing with its session, or
    the task failing with it and withdrawing its prompt)."""
    session_killed("s1")
    failed = Task.objects.get(pk=1)
    assert (failed.status, failed.result_note) == ("failed", "session s1 killed: killed from Chorus")
    assert OutboxMessage.objects.get(pk=assigned.message_id).state == "failed"
    assert event_types() == ["TaskCreated", "TaskAssigned", "TaskFailed"]


def test_a_failed_delivery_fails_the_task(assigned):
    delivery_starts(assigned.message_id)
    delivery_ends(assigned.message_id, delivered=False)
    assert Task.objects.get(pk=1).result_note == "the prompt did not reach s1: no"


def test_a_prompt_cancelled_in_its_outbox_fails_the_task(assigned):
    session_services.message_cancel(assigned.message_id)
    assert (status(), Task.objects.get(pk=1).result_note) == ("failed", "the prompt did not reach s1: cancelled")


def test_a_person_marks_done_after_review_and_can_reopen(assigned):
    delivery_starts(assigned.message_id)
    session_status("s1", "busy")
    session_status("s1", "idle")
    task = Task.objects.get(pk=1)
    task = services.task_done(task.id, expected_version=task.version, note="merged in abc123")
    assert (task.status, task.result_note) == ("done", "merged in abc123")
    assert Dispatch.objects.get().outcome == "done"
    task = services.task_reopen(task.id, expected_version=task.version)
    assert task.status == "ready"
    assert projection.verify() == []


def test_the_session_event_finds_the_task_as_a_person_left_it(assigned):
    delivery_starts(assigned.message_id)
    services.task_update(assigned.id, expected_version=assigned.version, priority=5)
    session_status("s1", "busy")
    assert (status(), Task.objects.get(pk=1).priority) == ("in_progress", 5)
    task = selectors.task(1)
    services.task_unassign(task.id, expected_version=task.version)
    session_status("s1", "idle")
    session_status("s1", "busy")
    assert status() == "ready", "a task taken back from its session no longer follows it"


def test_the_audit_has_the_heads_at_dispatch_and_at_completion(docs):
    heads = iter(["a" * 40, "b" * 40])
    docs.write("spec.md", "a\nb\n")
    with git.head_reader(lambda: next(heads)):
        task = assigned_task("s1", references=["spec.md:1-2"])
        task = services.task_fail(task.id, expected_version=task.version, reason="wrong approach")
    dispatch = Dispatch.objects.get()
    assert (dispatch.git_head_at_dispatch, dispatch.git_head_at_completion) == ("a" * 40, "b" * 40)
    assert dispatch.references == [
        {"reference_id": "1.1", "path": "spec.md", "start": 1, "end": 2, "sha256": anchoring.digest("a\nb")}
    ]
    assert (dispatch.outcome, dispatch.outcome_note) == ("failed", "wrong approach")


def test_without_a_head_the_audit_heads_are_null(assigned):
    task = services.task_fail(assigned.id, expected_version=assigned.version)
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
