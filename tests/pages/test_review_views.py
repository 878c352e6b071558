"""The task page's review block without a browser: the files a task changed and the forms while it is in review,
pushed live on the task's review stream alone; the board's review card counts the files; the page's forms call the
review services and answer in the flash."""

import pytest
from django.test import Client

from chorus_site.pages.task import TaskPage
from events_app import store
from sessions_app.models import OutboxMessage
from tasks_app import selectors
from tasks_app import services as task_services
from tests.tasks_app.test_review import in_review

pytestmark = pytest.mark.django_db


@pytest.fixture
def browser(settings, tmp_path):
    settings.PROJECT_ROOT = tmp_path
    settings.CHORUS_PROMPT_TEMPLATE = ""
    client = Client(HTTP_HOST="127.0.0.1")
    client.get(f"/login/?token={settings.CHORUS_TOKEN}")
    return client


def notice(stream_type: str, stream_id: str) -> dict:
    return {"stream_type": stream_type, "stream_id": stream_id, "position": store.last_position()}


def test_the_review_block_shows_the_changed_files_and_follows_its_stream(browser):
    task = in_review(files=("src/a.py", "b.txt"))
    shown = browser.get(f"/tasks/{task.id}/").content.decode()
    assert 'id="review"' in shown and "src/a.py" in shown and "Request changes" in shown and "Approve" in shown
    assert "is not in a git repository" in shown  # the fast tier's PROJECT_ROOT: attribution says it is off
    assert "Touched 2 files" in shown  # on the dispatch's line of the timeline: what that dispatch touched
    page = TaskPage({"id": str(task.id)})
    page.snapshot()
    task_services.review_comment(task.id, "b.txt", 2, "say why")
    update = page.update([notice("review", str(task.id))])
    assert update.strip().startswith('<section id="review"') and "b.txt:2" in update and "not sent yet" in update
    assert 'id="task-detail"' not in update
    assert page.update([notice("review", str(task.id + 1))]) == ""


def test_the_boards_review_card_counts_the_files_its_task_changed(browser):
    in_review(files=("src/a.py", "b.txt"))
    board = browser.get("/tasks/").content.decode()
    assert "2 files changed" in board


def test_the_pages_forms_comment_request_changes_and_refuse_in_the_flash(browser):
    task = in_review()
    commented = browser.post(
        f"/tasks/{task.id}/comments", {"path": "src/a.py", "line": "3", "text": "and this?"}, HTTP_HX_REQUEST="true"
    )
    assert commented.status_code == 200 and "Comment on src/a.py:3 added" in commented.content.decode()
    refused = browser.post(
        f"/tasks/{task.id}/comments", {"path": "src/a.py", "line": "x", "text": "?"}, HTTP_HX_REQUEST="true"
    )
    assert refused.status_code == 400 and "line must be a whole number" in refused.content.decode()
    stale = browser.post(f"/tasks/{task.id}/approve", {"version": str(task.version - 1)}, HTTP_HX_REQUEST="true")
    assert stale.status_code == 409 and "nothing was saved" in stale.content.decode()
    sent = browser.post(f"/tasks/{task.id}/request-changes", {"version": str(task.version)}, HTTP_HX_REQUEST="true")
    assert "queued for s1" in sent.content.decode()
    assert "- src/a.py:3: and this?" in OutboxMessage.objects.get(pk=selectors.task(task.id).message_id).text
