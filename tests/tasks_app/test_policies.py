"""Every reaction of tasks is a registered policy in tasks_app/policies.py; a task leaving work gives its session's
slot back and withdraws its queued prompt in the same transaction; a trigger rolled back leaves no reaction; the
desktop hears once of a change under another task's claim, naming both sessions."""

import pytest
from django.db import transaction

from events_app import policies, store
from sessions_app import notify
from sessions_app.models import OutboxMessage
from tasks_app import lifecycle, services
from tasks_app import policies as task_policies
from tasks_app.models import Reference, SessionSlot, Task
from tasks_app.services.claims import claims_breached
from tests.tasks_app.factories import TaskFactory, assigned_task
from tests.tasks_app.helpers import delivery_ends, delivery_starts, event_types, numbered, session_stops

pytestmark = pytest.mark.django_db


class Rollback(Exception):
    pass


def test_every_reaction_of_tasks_is_declared_in_its_policies_module():
    mine = {p.name: p.in_transaction for p in policies.policies() if p.module == "tasks_app.policies"}
    assert mine == {
        "references_follow_their_document": True,
        "tasks_follow_their_session": True,
        "tasks_fail_with_their_session": True,
        "tasks_fail_with_their_prompt": True,
        "a_task_leaving_work_frees_its_session": True,
        "a_task_leaving_work_withdraws_its_prompt": True,
        "a_task_leaving_work_and_review_releases_its_claims": True,
        "the_checkout_is_recorded_at_start_and_review": False,
        "both_sessions_hear_of_an_edit_under_another_tasks_claim": False,
        "ready_tasks_go_to_free_sessions": False,
        "spend_over_a_budget_pauses_dispatch": True,
        "the_desktop_hears_when_a_budget_pauses_dispatch": False,
    }


def test_the_transitions_out_of_work_come_from_the_lifecycle_and_each_has_a_reason():
    assert set(task_policies.LEAVING_WORK) == {
        "TaskSentToReview",
        "TaskFinished",
        "TaskDone",
        "TaskFailed",
        "TaskCancelled",
        "TaskUnassigned",
    }
    assert set(task_policies.RELEASED) == set(task_policies.LEAVING_WORK)
    assert all(not lifecycle.holds_slot(lifecycle.status_after(name)) for name in task_policies.LEAVING_WORK)


@pytest.mark.parametrize(
    ("leave", "reason"),
    [
        (lambda t: services.task_unassign(t.id, expected_version=t.version, reason="wrong agent"), "wrong agent"),
        (lambda t: services.task_cancel(t.id, expected_version=t.version), "the task was cancelled"),
        (lambda t: services.task_done(t.id, expected_version=t.version), "the task is done"),
        (lambda t: services.task_fail(t.id, expected_version=t.version), "marked failed by a person"),
    ],
    ids=["unassigned", "cancelled", "done", "failed"],
)
def test_a_task_leaving_work_frees_its_session_and_withdraws_its_queued_prompt(docs, leave, reason):
    task = assigned_task("s1")
    left = leave(task)
    assert SessionSlot.objects.get(pk="s1").task_id is None
    assert OutboxMessage.objects.get(pk=task.message_id).state == "cancelled"
    released = next(store.read(stream_type="assignment", event_types=["SessionSlotReleased"]))
    assert released.event.reason == reason
    assert released.metadata["policy"] == "a_task_leaving_work_frees_its_session"
    cause = next(store.read(stream_type="task", stream_id=str(left.id), descending=True, limit=1))
    assert released.metadata["causation_id"] == cause.position


def test_a_prompt_already_being_typed_is_not_withdrawn(docs):
    task = assigned_task("s1")
    delivery_starts(task.message_id)
    services.task_unassign(task.id, expected_version=task.version)
    assert OutboxMessage.objects.get(pk=task.message_id).state == "delivering"
    assert SessionSlot.objects.get(pk="s1").task_id is None


def test_a_rolled_back_transition_keeps_the_slot_and_the_prompt(docs):
    task = assigned_task("s1")
    with pytest.raises(Rollback), transaction.atomic():
        services.task_unassign(task.id, expected_version=task.version)
        assert SessionSlot.objects.get(pk="s1").task_id is None
        raise Rollback
    assert SessionSlot.objects.get(pk="s1").task_id == task.id
    assert OutboxMessage.objects.get(pk=task.message_id).state == "queued"
    assert event_types("assignment") == ["SessionSlotClaimed"]


def test_a_rolled_back_document_change_moves_no_reference(docs):
    docs.write("spec.md", numbered(10))
    task = TaskFactory(references=["spec.md:4-5"])
    with pytest.raises(Rollback), transaction.atomic():
        docs.write("spec.md", "new\n" + numbered(10))
        assert Reference.objects.get(pk="1.1").start == 5
        raise Rollback
    assert Reference.objects.get(pk="1.1").start == 4
    assert event_types() == ["TaskCreated", "ReferenceAdded"]
    assert Task.objects.get(pk=task.id).version == task.version


@pytest.mark.parametrize(
    "trigger",
    [
        lambda task: session_stops("s1", "pane dead (exit 1)"),
        lambda task: delivery_ends(task.message_id, delivered=False),
    ],
    ids=["the session stopped", "the delivery failed"],
)
def test_a_rolled_back_session_or_message_event_fails_no_task(docs, trigger):
    task = assigned_task("s1")
    delivery_starts(task.message_id)
    position = store.last_position()
    with pytest.raises(Rollback), transaction.atomic():
        trigger(task)
        assert Task.objects.get(pk=task.id).status == "failed"
        raise Rollback
    assert (Task.objects.get(pk=task.id).status, store.last_position()) == ("assigned", position)
    assert SessionSlot.objects.get(pk="s1").task_id == task.id


def test_both_sessions_hear_once_of_a_change_under_another_tasks_claim(docs, settings, monkeypatch, caplog):
    settings.CHORUS_NOTIFY = "log"
    monkeypatch.setattr(notify, "_shared", None)  # a notifier of this test's own: no key remembered from another
    runner = policies.PolicyRunner()
    runner.start()
    holder = assigned_task("alice", claims=["src/api/**"])
    changer = assigned_task("bob")
    claims_breached(changer.id, ["src/api/views.py", "README.md"])
    with caplog.at_level("WARNING", logger="chorus.notify"):
        runner.tick()
        runner.tick()
    # one desktop notice: the changing session in its title, the holder's task and session in its body
    assert caplog.messages == [
        f"bob edited a claimed file: task {changer.id} changed src/api/views.py, "
        f"claimed by task {holder.id} (session alice)"
    ]
    [recorded] = store.read(stream_type="agent", stream_id="bob", event_types=["ClaimedPathChanged"])
    caplog.clear()
    with caplog.at_level("WARNING", logger="chorus.notify"):
        task_policies.both_sessions_hear_of_an_edit_under_another_tasks_claim([recorded])  # offered again
    assert caplog.messages == []
