"""Task services: creation, edits, dependencies, the person's transitions, optimistic concurrency, refusals."""

import pytest

from events_app import store
from events_app.store import ConcurrencyError
from tasks_app import selectors, services
from tasks_app.errors import TaskConflict, TaskError, UnknownTask
from tasks_app.models import Task, TaskLabel
from tests.tasks_app.helpers import event_types, numbered

pytestmark = pytest.mark.django_db


def test_create_numbers_tasks_and_records_one_event_per_fact(docs, person):
    docs.write("plan.md", numbered(10))
    first = services.task_create(
        "Parse the config", "Use **TOML**.", 5, ["parser", "config"], references=["plan.md:2-3"]
    )
    second = services.task_create("Ship it", depends_on=[first.id], status="backlog")
    assert (first.id, second.id) == (1, 2)
    assert (first.status, first.priority, first.labels, first.version) == ("ready", 5, ["config", "parser"], 2)
    assert (second.status, second.depends_on) == ("backlog", [1])
    assert event_types() == ["TaskCreated", "ReferenceAdded", "TaskCreated", "TaskDependencyAdded"]
    assert sorted(TaskLabel.objects.values_list("task_id", "label")) == [(1, "config"), (1, "parser")]
    created = next(store.read(stream_type="task", stream_id="1"))
    assert created.metadata["actor"] == "alice" and created.metadata["source"] == "test"


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({"title": "  "}, "needs a title"),
        ({"title": "two\nlines"}, "one line"),
        ({"title": "x" * 201}, "at most 200"),
        ({"title": "t", "priority": True}, "whole number"),
        ({"title": "t", "priority": 10**7}, "between"),
        ({"title": "t", "labels": ["has space"]}, "invalid label"),
        ({"title": "t", "labels": "single"}, "a list of names"),
        ({"title": "t", "status": "done"}, "backlog or ready"),
        ({"title": "t", "depends_on": [9]}, "no task 9"),
        ({"title": "t", "references": ["plan.md"]}, "PATH:START-END"),
        ({"title": "t", "references": ["plan.md:3-2"]}, "reversed"),
        ({"title": "t", "references": ["plan.md:0-2"]}, "start at 1"),
        ({"title": "t", "references": ["plan.md:9-12"]}, "has 10 lines"),
        ({"title": "t", "references": ["plan.md:5-6"]}, "empty"),
        ({"title": "t", "references": ["nothere.md:1-2"]}, "no document"),
        ({"title": "t", "references": ["../outside.md:1-2"]}, "no document"),
        ({"title": "t", "references": ["/etc/passwd:1-2"]}, "outside PROJECT_ROOT"),
        ({"title": "t", "description": "d" * 50_001}, "the limit is"),
    ],
)
def test_bad_input_is_refused_with_a_clear_error_and_writes_nothing(docs, kwargs, error):
    docs.write("plan.md", "a\nb\nc\nd\n\n  \ng\nh\ni\nj\n")
    before = store.last_position()
    with pytest.raises(TaskError, match=error):
        services.task_create(**kwargs)
    assert store.last_position() == before
    assert not Task.objects.exists()


def test_update_appends_an_event_per_changed_field_and_nothing_when_nothing_changed(docs):
    task = services.task_create("Old", "same", 1, ["a", "b"])
    updated = services.task_update(
        task.id,
        expected_version=task.version,
        title="New",
        description="same",
        priority=7,
        labels=["b", "c"],
        add_labels=["d"],
    )
    assert (updated.title, updated.priority, updated.labels) == ("New", 7, ["b", "c", "d"])
    assert event_types()[1:] == [
        "TaskRetitled",
        "TaskReprioritised",
        "TaskLabelAdded",
        "TaskLabelAdded",
        "TaskLabelRemoved",
    ]
    assert sorted(TaskLabel.objects.values_list("label", flat=True)) == ["b", "c", "d"]
    position = store.last_position()
    assert services.task_update(task.id, expected_version=updated.version, title="New").version == updated.version
    assert store.last_position() == position


def test_a_stale_version_is_a_conflict_and_writes_nothing(docs):
    task = services.task_create("T")
    services.task_update(task.id, expected_version=task.version, priority=2)
    position = store.last_position()
    with pytest.raises(ConcurrencyError, match="changed meanwhile") as raised:
        services.task_update(task.id, expected_version=task.version, priority=3)
    assert (raised.value.expected, raised.value.actual) == (1, 2)
    for call in (
        lambda: services.task_done(task.id, expected_version=task.version),
        lambda: services.task_archive(task.id, expected_version=task.version),
        lambda: services.task_add_dependency(task.id, 1, expected_version=task.version),
    ):
        with pytest.raises(ConcurrencyError):
            call()
    assert store.last_position() == position
    with pytest.raises(TaskError, match="version"):
        services.task_update(task.id, expected_version=None, priority=3)


def test_unknown_tasks_are_404s(docs):
    with pytest.raises(UnknownTask, match="no task 4"):
        services.task_update(4, expected_version=1, title="x")
    with pytest.raises(UnknownTask, match="named by its number"):
        selectors.task("abc")


def test_dependencies_form_a_dag_and_a_cycle_is_refused_naming_it(docs):
    one, two, three = (services.task_create(title) for title in ("one", "two", "three"))
    two = services.task_add_dependency(two.id, one.id, expected_version=two.version)
    three = services.task_add_dependency(three.id, two.id, expected_version=three.version)
    position = store.last_position()
    one = selectors.task(one.id)
    with pytest.raises(TaskConflict, match=r"cycle 1 -> 3 -> 2 -> 1"):
        services.task_add_dependency(one.id, three.id, expected_version=one.version)
    with pytest.raises(TaskConflict, match="itself"):
        services.task_add_dependency(one.id, one.id, expected_version=one.version)
    with pytest.raises(TaskError, match="no task 9"):
        services.task_add_dependency(one.id, 9, expected_version=one.version)
    assert store.last_position() == position
    assert services.task_add_dependency(three.id, one.id, expected_version=three.version).depends_on == [1, 2]
    three = selectors.task(three.id)
    assert services.task_remove_dependency(three.id, 2, expected_version=three.version).depends_on == [1]
    with pytest.raises(TaskError, match="does not depend on 2"):
        services.task_remove_dependency(three.id, 2, expected_version=selectors.task(three.id).version)


@pytest.mark.parametrize(
    ("start", "calls", "status", "event"),
    [
        ("backlog", [services.task_ready], "ready", "TaskReadied"),
        ("ready", [services.task_shelve], "backlog", "TaskShelved"),
        ("ready", [services.task_cancel], "cancelled", "TaskCancelled"),
        ("ready", [services.task_cancel, services.task_reopen], "ready", "TaskReopened"),
    ],
)
def test_people_move_tasks_that_are_not_at_work(docs, start, calls, status, event):
    task = services.task_create("T", status=start)
    for call in calls:
        task = call(task.id, expected_version=task.version)
    assert task.status == status
    assert event_types()[-1] == event


@pytest.mark.parametrize(
    ("call", "error"),
    [
        (services.task_done, "ready, so it cannot be marked done"),
        (services.task_fail, "cannot be marked failed"),
        (services.task_unassign, "cannot be unassigned"),
        (services.task_reopen, "cannot be reopened"),
        (services.task_ready, "cannot be made ready"),
    ],
)
def test_transitions_from_the_wrong_status_are_refused(docs, call, error):
    task = services.task_create("T")
    with pytest.raises(TaskConflict, match=error):
        call(task.id, expected_version=task.version)
    assert event_types() == ["TaskCreated"]


def test_set_status_picks_the_transition_that_leads_there(docs):
    task = services.task_create("T", status="backlog")
    task = services.task_set_status(task.id, "ready", expected_version=task.version)
    task = services.task_set_status(task.id, "cancelled", expected_version=task.version, note="not needed")
    assert (task.status, task.result_note) == ("cancelled", "not needed")
    task = services.task_set_status(task.id, "ready", expected_version=task.version)
    assert event_types() == ["TaskCreated", "TaskReadied", "TaskCancelled", "TaskReopened"]
    with pytest.raises(TaskError, match="from following its session"):
        services.task_set_status(task.id, "in_progress", expected_version=task.version)


def test_archive_hides_a_task_but_never_deletes_it(docs):
    task = services.task_create("T")
    archived = services.task_archive(task.id, expected_version=task.version)
    assert archived.archived and Task.objects.filter(pk=task.id).exists()
    assert services.task_archive(task.id, expected_version=archived.version).version == archived.version
    back = services.task_unarchive(task.id, expected_version=archived.version)
    assert not back.archived
    assert event_types() == ["TaskCreated", "TaskArchived", "TaskUnarchived"]
