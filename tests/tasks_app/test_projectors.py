"""The task projectors: what each event does to the read models, and that a replay gives the same rows."""

from importlib import import_module

import pytest
from django.apps import apps
from django.db import connection
from django.test.utils import CaptureQueriesContext

from events_app import projection, store
from tasks_app import events as ev
from tasks_app import selectors, services
from tasks_app.models import Dispatch, Reference, SessionSlot, Task, TaskDependency, TaskLabel
from tests.tasks_app.helpers import delivery_starts, numbered, session_appears, session_status

pytestmark = pytest.mark.django_db


def append(task_id: int, *events):
    store.append("task", str(task_id), store.stream_version("task", str(task_id)), list(events))


def test_the_count_of_unsound_references_follows_each_references_state(docs):
    docs.write("a.md", numbered(5))
    task = services.task_create("T", references=["a.md:1-1", "a.md:2-2"])
    steps = [
        (ev.ReferenceStale(reference_id="1.1", start=1, end=1, current_sha256="x", diff="d"), 1),
        (ev.ReferenceMissing(reference_id="1.1"), 1),
        (ev.ReferenceMissing(reference_id="1.2"), 2),
        (ev.ReferenceReanchored(reference_id="1.2", start=3, end=3), 1),
        (ev.ReferenceRefreshed(reference_id="1.1", start=1, end=1, sha256="y", snapshot="s"), 0),
        (ev.ReferenceStale(reference_id="1.2", start=3, end=3, current_sha256="x", diff="d"), 1),
        (ev.ReferenceRemoved(reference_id="1.2"), 0),
    ]
    for event, unsound in steps:
        append(task.id, event)
        assert Task.objects.get(pk=task.id).stale_references == unsound, event
    assert list(Reference.objects.values_list("id", "state", "start", "snapshot")) == [("1.1", "current", 1, "s")]


def test_labels_are_kept_as_a_sorted_list_and_as_rows(docs):
    task = services.task_create("T", labels=["b", "a"])
    append(task.id, ev.TaskLabelAdded(label="c"), ev.TaskLabelRemoved(label="a"), ev.TaskLabelAdded(label="c"))
    assert Task.objects.get(pk=task.id).labels == ["b", "c"]
    assert sorted(TaskLabel.objects.values_list("key", flat=True)) == ["1:b", "1:c"]


def test_a_dispatch_row_records_the_assignment_and_its_end(docs):
    session_appears("s1")
    task = services.task_create("T")
    task = services.task_assign(task.id, "s1", expected_version=task.version)
    delivery_starts(task.message_id)
    session_status("s1", "busy")
    session_status("s1", "idle")
    task = services.task_done(task.id, expected_version=Task.objects.get(pk=task.id).version, note="ok")
    dispatch = Dispatch.objects.get()
    assert (dispatch.task_id, dispatch.outcome, dispatch.outcome_note) == (task.id, "done", "ok")
    assert dispatch.started_at <= dispatch.review_at <= dispatch.finished_at
    assert (task.session, task.dispatch_id) == ("s1", dispatch.id)
    assert SessionSlot.objects.get(pk="s1").task_id is None


def test_a_rebuild_gives_the_live_rows(docs):
    docs.write("a.md", numbered(8))
    session_appears("s1")
    first = services.task_create("one", labels=["x"], references=["a.md:2-3"])
    second = services.task_create("two", depends_on=[first.id], priority=4)
    services.task_assign(first.id, "s1", expected_version=first.version)
    docs.write("a.md", "top\n" + numbered(8))
    docs.write("a.md", "top\n" + numbered(8).replace("line 3", "line III"))
    services.task_archive(second.id, expected_version=second.version)
    live = projection.snapshot(["tasks", "task_slots"])
    assert live["chorus_task_reference"]["1.1"]["state"] == "stale"
    projection.rebuild(["tasks", "task_slots"])
    assert projection.snapshot(["tasks", "task_slots"]) == live


def test_dependents_are_read_from_their_own_index_not_from_every_task(docs):
    first = services.task_create("first")
    second = services.task_create("second", depends_on=[first.id])
    third = services.task_create("third", depends_on=[first.id, second.id])
    services.task_remove_dependency(third.id, second.id, expected_version=third.version)

    with CaptureQueriesContext(connection) as queries:
        found = selectors.dependents(first.id)

    assert found == [second.id, third.id]
    assert selectors.dependents(second.id) == []
    assert [q["sql"] for q in queries if 'chorus_task"' in q["sql"]] == []
    assert projection.verify() == []


def test_the_migration_fills_the_index_of_an_existing_database_from_the_tasks(docs):
    first = services.task_create("first")
    second = services.task_create("second", depends_on=[first.id])
    TaskDependency.objects.all().delete()

    import_module("tasks_app.migrations.0003_task_dependency").fill(apps, None)

    assert selectors.dependents(first.id) == [second.id]
    assert projection.verify() == []


def test_a_snapshot_of_a_moment_taken_again_replaces_the_tasks_earlier_one(docs):
    task = services.task_create("T")
    for moment, head, files in (
        ("start", "aaa", []),
        ("review", "bbb", [{"path": "a.py", "status": " M", "added": 1, "removed": 0}]),
        ("review", "ccc", []),  # in review again after changes were requested
        ("start", "ddd", []),  # reopened and dispatched again
    ):
        snapshot = ev.ChangesSnapshotTaken(moment=moment, dispatch_id="d", git_head=head, files=files)
        store.append("review", str(task.id), store.stream_version("review", str(task.id)), [snapshot])
    start, review = selectors.change_snapshot(task.id, "start"), selectors.change_snapshot(task.id, "review")
    assert (start.git_head, review.git_head, review.files) == ("ddd", "ccc", [])
    assert projection.verify() == []
