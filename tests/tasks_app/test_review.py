"""A task's review: comments on lines of the files it changed, changes requested (one queued message with
file:line per comment, the task back in progress holding its session's slot) and approval (done, HEAD recorded);
bad requests refused with nothing written."""

import io

import pytest
from django.conf import settings
from django.core.management import CommandError, call_command
from django.test import Client

from events_app import projection, store
from events_app.store import ConcurrencyError
from sessions_app.models import OutboxMessage
from tasks_app import events as ev
from tasks_app import git, lifecycle, selectors, services
from tasks_app.errors import TaskConflict, TaskError
from tests.tasks_app.factories import TaskFactory, assigned_task
from tests.tasks_app.helpers import delivery_ends, delivery_starts, event_types, session_status

pytestmark = pytest.mark.django_db


def in_review(session: str = "s1", files: tuple[str, ...] = ("src/a.py",)):
    """A task its agent worked on and left, with `files` recorded as changed by it."""
    task = assigned_task(session)
    delivery_starts(task.message_id)
    session_status(session, "busy")
    delivery_ends(task.message_id)
    changed = [{"path": path, "added": 1, "removed": 0} for path in files]
    event = ev.FilesChanged(files=changed, source="git", shared_with=[], dispatch_id=task.dispatch_id)
    store.append("review", str(task.id), 0, [event])
    session_status(session, "idle")
    task = selectors.task(task.id)
    assert task.status == lifecycle.REVIEW
    return task


def test_request_changes_sends_the_comments_as_one_message_and_the_task_is_back_in_progress():
    task = in_review(files=("src/a.py", "b.txt"))
    services.review_comment(task.id, "src/a.py", 12, "name this better")
    services.review_comment(task.id, "b.txt", 1, "  why?  ")
    queued_before = OutboxMessage.objects.filter(session="s1").count()
    back = services.task_request_changes(task.id, expected_version=task.version)
    assert back.status == lifecycle.IN_PROGRESS and back.session == "s1"
    [message] = OutboxMessage.objects.filter(session="s1").order_by("-queued_position")[:1]
    assert OutboxMessage.objects.filter(session="s1").count() == queued_before + 1
    assert back.message_id == message.id
    assert "- src/a.py:12: name this better\n- b.txt:1: why?" in message.text
    assert selectors.slot("s1").task_id == task.id
    assert selectors.review_comments(task.id, pending=True) == []
    assert {c.sent_in for c in selectors.review_comments(task.id)} == {message.id}
    # the agent's return to idle after it worked on the comments sends the task to review again
    session_status("s1", "busy")
    session_status("s1", "idle")
    assert selectors.task(task.id).status == lifecycle.REVIEW
    assert projection.verify() == []  # the read models rebuilt from the log are the live ones


def test_approve_marks_the_task_done():
    task = in_review()
    done = services.task_approve(task.id, expected_version=task.version)
    assert done.status == lifecycle.DONE
    assert event_types("task", str(task.id))[-1] == "TaskDone"
    assert selectors.dispatches(task.id, 1).first().outcome == lifecycle.DONE


def test_approving_records_the_head_commit_at_approval_on_the_task_done_and_its_dispatch():
    with git.head_reader(lambda: "a" * 40):
        task = in_review()
    with git.head_reader(lambda: "b" * 40):  # the agent committed since it was dispatched
        services.task_approve(task.id, expected_version=task.version)
    done = list(store.read(stream_type="task", stream_id=str(task.id), event_types=["TaskDone"]))
    assert [(r.event.git_head, r.event.note) for r in done] == [("b" * 40, "approved in review")]
    dispatch = selectors.dispatches(task.id, 1).first()
    assert (dispatch.git_head_at_dispatch, dispatch.git_head_at_completion) == ("a" * 40, "b" * 40)


def test_bad_comments_are_refused_and_nothing_is_written():
    task = in_review()
    for path, line, text in (("other.py", 1, "x"), ("src/a.py", 0, "x"), ("src/a.py", 1, " "), ("src/a.py", True, "x")):
        with pytest.raises(TaskError):
            services.review_comment(task.id, path, line, text)
    with pytest.raises(TaskError):
        services.review_comment(task.id, "src/a.py", 1, "x" * 5_001)
    assert selectors.review_comments(task.id) == []


def test_review_actions_need_a_task_in_review_comments_and_the_version_seen():
    ready = TaskFactory()
    with pytest.raises(TaskConflict, match="only in review"):
        services.review_comment(ready.id, "src/a.py", 1, "x")
    with pytest.raises(TaskConflict, match="only in review"):
        services.task_approve(ready.id, expected_version=ready.version)
    with pytest.raises(TaskConflict, match="cannot be sent back"):
        services.task_request_changes(ready.id, expected_version=ready.version)
    task = in_review()
    with pytest.raises(TaskConflict, match="no comment to send"):
        services.task_request_changes(task.id, expected_version=task.version)
    services.review_comment(task.id, "src/a.py", 1, "x")
    with pytest.raises(ConcurrencyError):
        services.task_request_changes(task.id, expected_version=task.version - 1)
    assert selectors.task(task.id).status == lifecycle.REVIEW


def test_request_changes_is_refused_when_the_session_took_another_task_meanwhile():
    task = in_review()
    services.review_comment(task.id, "src/a.py", 1, "x")
    other = TaskFactory()
    services.task_assign(other.id, "s1", expected_version=other.version)
    queued = OutboxMessage.objects.count()
    with pytest.raises(services.SessionBusy):
        services.task_request_changes(task.id, expected_version=task.version)
    assert OutboxMessage.objects.count() == queued and selectors.task(task.id).status == lifecycle.REVIEW


# --- the API and the command ---------------------------------------------------------------------------------


@pytest.fixture
def api(docs):
    return Client(HTTP_AUTHORIZATION=f"Bearer {settings.CHORUS_TOKEN}")


def post(api, path, body):
    return api.post(f"/api/tasks{path}", body, content_type="application/json")


def test_the_api_comments_requests_changes_and_approves(api):
    task = in_review()
    made = post(api, f"/{task.id}/comments", {"path": "src/a.py", "line": 3, "text": "off by one"})
    assert made.status_code == 200, made.content
    review = api.get(f"/api/tasks/{task.id}/review").json()
    assert [(f["path"], f["added"], f["shared_with"]) for f in review["files"]] == [("src/a.py", 1, [])]
    assert [(c["path"], c["line"], c["sent_in"]) for c in review["comments"]] == [("src/a.py", 3, "")]
    back = post(api, f"/{task.id}/request-changes", {"version": task.version})
    assert back.status_code == 200 and back.json()["status"] == "in_progress"
    session_status("s1", "busy")
    session_status("s1", "idle")
    again = selectors.task(task.id)
    assert post(api, f"/{task.id}/approve", {"version": again.version}).json()["status"] == "done"


@pytest.mark.parametrize(
    ("path", "body", "status", "detail"),
    [
        ("/{id}/comments", {"path": "nope.py", "line": 1, "text": "x"}, 400, "did not change 'nope.py'"),
        ("/{id}/comments", {"path": "src/a.py", "line": 0, "text": "x"}, 422, ""),
        ("/{id}/comments", {"path": "src/a.py", "line": 1}, 422, ""),
        ("/{id}/request-changes", {"version": "{version}"}, 409, "no comment to send"),
        ("/{id}/request-changes", {}, 422, ""),
        ("/{id}/approve", {"version": 0}, 409, ""),
        ("/999/approve", {"version": 0}, 404, "no task 999"),
    ],
)
def test_api_bad_input_is_a_4xx_with_a_message_and_writes_nothing(api, path, body, status, detail):
    task = in_review()
    body = {k: (task.version if v == "{version}" else v) for k, v in body.items()}
    answer = post(api, path.format(id=task.id), body)
    assert answer.status_code == status, answer.content
    assert detail in str(answer.json()["detail"])
    assert selectors.review_comments(task.id) == [] and selectors.task(task.id).status == lifecycle.REVIEW


def run(*args):
    out = io.StringIO()
    call_command("tasks", *args, stdout=out)
    return out.getvalue()


def test_the_command_prints_the_changed_files_and_sends_comments_back(docs):
    task = in_review(files=("src/a.py", "b.txt"))
    printed = [line.split() for line in run("review", str(task.id)).splitlines()]
    assert [line for line in printed if line[0].startswith("+")] == [["+1", "-0", "b.txt"], ["+1", "-0", "src/a.py"]]
    assert "comment on src/a.py:4 added" in run("comment", str(task.id), "src/a.py:4", "rename it")
    assert "in progress again" in run("request-changes", str(task.id))
    assert "- src/a.py:4: rename it" in OutboxMessage.objects.get(pk=selectors.task(task.id).message_id).text
    with pytest.raises(CommandError, match="only in review"):
        run("approve", str(task.id))
    with pytest.raises(CommandError, match="PATH:LINE"):
        run("comment", str(task.id), "src/a.py", "x")


def test_the_api_says_what_each_dispatch_touched(settings):
    from django.test import Client

    task = in_review(files=("src/a.py",))
    answer = Client(HTTP_HOST="127.0.0.1").get(
        f"/api/tasks/{task.id}/dispatches", HTTP_AUTHORIZATION=f"Bearer {settings.CHORUS_TOKEN}"
    )
    [dispatch] = answer.json()
    assert dispatch["touched"] == [{"path": "src/a.py", "added": 1, "removed": 0, "shared_with": []}]
