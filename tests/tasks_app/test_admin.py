"""The task admin through Django's test client: every path goes through the services and appends events, with the
version the user saw; conflicts and refusals are error messages; nothing is ever deleted."""

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.test import Client

from events_app import store
from tasks_app import services
from tasks_app.models import Task
from tests.tasks_app.helpers import event_types, numbered, session_appears

pytestmark = pytest.mark.django_db

CHANGELIST = "/admin/tasks_app/task/"


@pytest.fixture
def staff(docs):
    client = Client()
    client.get(f"/login/?token={settings.CHORUS_TOKEN}")
    client.force_login(get_user_model().objects.create_superuser("carol", password="x"))
    return client


@pytest.fixture
def tasks(docs):
    docs.write("a.md", numbered(5))
    first = services.task_create("Alpha parser", labels=["parser"], priority=1, references=["a.md:1-2"])
    second = services.task_create("Beta page", labels=["ui"], priority=5)
    return first, second


def act(staff, action, tasks, versions=None, **fields):
    data = {"action": action, "_selected_action": [t.pk for t in tasks], **fields}
    for task in tasks:
        data[f"_version_{task.pk}"] = (versions or {}).get(task.pk, task.version)
    return staff.post(CHANGELIST, data, follow=True)


def texts(response) -> list[str]:
    return [str(m) for m in response.context["messages"]]


def test_the_list_filters_and_searches(staff, tasks, docs):
    page = staff.get(CHANGELIST).content
    assert b"Alpha parser" in page
    assert page.index(b'id="changelist-form"') < page.index(b'name="_version_1" value="2"'), "posted with the form"
    docs.write("a.md", "x\n" * 5)
    for query, shown in [
        ({"q": "beta"}, ["Beta page"]),
        ({"label": "parser"}, ["Alpha parser"]),
        ({"stale": "yes"}, ["Alpha parser"]),
        ({"status__exact": "ready", "priority": "5"}, ["Beta page"]),
        ({"archived__exact": "1"}, []),
    ]:
        page = staff.get(CHANGELIST, query)
        assert page.status_code == 200
        assert [t.title for t in page.context["cl"].result_list] == shown, query


def test_bulk_actions_go_through_the_services_and_append_events(staff, tasks):
    second = tasks[1]
    assert "Priority 7: 2 task(s)." in texts(act(staff, "set_priority", tasks, priority="7"))
    tasks = list(Task.objects.order_by("id"))
    act(staff, "add_label", tasks, label="urgent")
    tasks = list(Task.objects.order_by("id"))
    act(staff, "remove_label", tasks, label="ui")
    tasks = list(Task.objects.order_by("id"))
    act(staff, "set_backlog", tasks[:1])
    act(staff, "archive", list(Task.objects.filter(pk=second.pk)))
    assert [(t.priority, t.labels, t.status, t.archived) for t in Task.objects.order_by("id")] == [
        (7, ["parser", "urgent"], "backlog", False),
        (7, ["urgent"], "ready", True),
    ]
    admin_events = [e for e in store.read(stream_type="task") if e.metadata.get("source") == "admin"]
    assert [e.event_type for e in admin_events] == [
        "TaskReprioritised",
        "TaskReprioritised",
        "TaskLabelAdded",
        "TaskLabelAdded",
        "TaskLabelRemoved",
        "TaskShelved",
        "TaskArchived",
    ]
    assert {e.metadata["actor"] for e in admin_events} == {"carol"}


def test_assign_and_unassign_in_bulk_report_each_refusal(staff, tasks):
    session_appears("s1")
    response = act(staff, "assign", list(tasks), session="s1")
    assert "Assigned to s1: 1 task(s)." in texts(response)
    assert "Task 2: session s1 is already working on task 1" in texts(response)
    response = act(staff, "unassign", list(Task.objects.order_by("id")))
    assert "Task 2: task 2 is ready, so it cannot be unassigned (only from assigned, in_progress)" in texts(response)
    assert event_types("assignment") == ["SessionSlotClaimed", "SessionSlotReleased"]


def test_a_stale_version_is_reported_and_changes_nothing(staff, tasks):
    first, _ = tasks
    services.task_update(first.id, expected_version=first.version, title="changed by someone else")
    position = store.last_position()
    response = act(staff, "set_cancelled", [first], versions={first.pk: first.version})
    assert texts(response) == ["Task 1: task '1' is at version 3, not 2: it was changed meanwhile"]
    assert store.last_position() == position


def test_an_action_missing_its_input_says_so(staff, tasks):
    assert texts(act(staff, "add_label", list(tasks))) == ["Give a label in the action bar for this action."]
    assert texts(act(staff, "set_priority", list(tasks), priority="high")) == ["priority 'high' is not a whole number"]


def test_delete_selected_is_not_offered_and_deleting_archives(staff, tasks):
    first, _ = tasks
    page = staff.get(CHANGELIST)
    assert b'value="delete_selected"' not in page.content
    refused = act(staff, "delete_selected", [first])
    assert Task.objects.filter(pk=first.pk).exists() and refused.status_code == 200
    confirm = staff.get(f"{CHANGELIST}{first.pk}/delete/")
    assert b"Tasks are never deleted" in confirm.content
    staff.post(f"{CHANGELIST}{first.pk}/delete/", {"post": "yes"})
    assert Task.objects.get(pk=first.pk).archived
    assert event_types()[-1] == "TaskArchived"


def test_the_change_form_saves_through_the_service_with_the_version_seen(staff, tasks):
    first, _ = tasks
    form = staff.get(f"{CHANGELIST}{first.pk}/change/")
    assert b'name="version"' in form.content and b"a.md:1-2" in form.content
    data = {
        "title": "Alpha parser v2",
        "description": "more",
        "priority": 3,
        "labels_text": "parser, new",
        "version": 2,
    }
    response = staff.post(f"{CHANGELIST}{first.pk}/change/", data, follow=True)
    assert response.status_code == 200
    assert event_types()[-4:] == ["TaskRetitled", "TaskDescriptionChanged", "TaskReprioritised", "TaskLabelAdded"]
    position = store.last_position()
    stale = staff.post(f"{CHANGELIST}{first.pk}/change/", {**data, "title": "lost"}, follow=True)
    assert texts(stale) == ["Not saved: task '1' is at version 6, not 2: it was changed meanwhile"]
    assert store.last_position() == position
    assert Task.objects.get(pk=first.pk).title == "Alpha parser v2"


def test_the_add_form_creates_through_the_service(staff, docs):
    response = staff.post(
        f"{CHANGELIST}add/",
        {"title": "From the admin", "description": "", "priority": 2, "labels_text": "x"},
        follow=True,
    )
    assert texts(response) == [
        'The task “<a href="/admin/tasks_app/task/1/change/">#1 From the admin</a>” was added successfully.'
    ]
    task = Task.objects.get()
    assert (task.title, task.labels, task.version) == ("From the admin", ["x"], 1)
    refused = staff.post(f"{CHANGELIST}add/", {"title": "bad", "priority": 0, "labels_text": "a b"}, follow=True)
    assert texts(refused) == ["Not saved: invalid label 'a b': use 1-40 letters, digits or . : / + - _ (no spaces)"]
    assert Task.objects.count() == 1


def test_the_other_read_models_are_read_only(staff, tasks):
    for model in ("reference", "dispatch", "sessionslot"):
        assert staff.get(f"/admin/tasks_app/{model}/").status_code == 200
        assert staff.get(f"/admin/tasks_app/{model}/add/").status_code == 403
