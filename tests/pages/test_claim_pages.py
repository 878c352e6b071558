"""Path claims on the pages: the task form declares them, the task page shows them held, declared and overlapping
with their holders, the session page its tasks' claims and its agent's refused edits; both live."""

import pytest

from chorus_site.pages.session import SessionPage
from chorus_site.pages.task import TaskPage
from events_app import store
from tasks_app import git, selectors
from tasks_app import services as task_services
from tests.tasks_app.factories import TaskFactory, assigned_task

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _root(settings, tmp_path):
    settings.PROJECT_ROOT = tmp_path
    settings.CHORUS_PROMPT_TEMPLATE = ""
    with git.head_reader(lambda: None):
        yield


def notice(stream_type: str, stream_id: str) -> dict:
    return {"stream_type": stream_type, "stream_id": stream_id, "position": store.last_position()}


def test_claims_are_declared_on_the_board_and_edited_on_the_task_page(browser):
    created = browser.post("/tasks/new", {"title": "API", "claims": "src/api/, docs/*.md"}, HTTP_HX_REQUEST="true")
    assert created.status_code == 200
    task = selectors.task(1)
    assert task.claims == ["docs/*.md", "src/api/**"]
    page = browser.get("/tasks/1/").content.decode()
    assert 'name="claims" value="docs/*.md, src/api/**"' in page
    assert "Declared, claimed when it goes to work: <code>docs/*.md</code>, <code>src/api/**</code>" in page
    form = {"title": "API", "description": "", "priority": "0", "labels": "", "version": str(task.version)}
    refused = browser.post("/tasks/1/edit", {**form, "claims": "/etc/**"}, HTTP_HX_REQUEST="true")
    assert refused.status_code == 400 and b"absolute" in refused.content
    saved = browser.post("/tasks/1/edit", {**form, "claims": "lib/**"}, HTTP_HX_REQUEST="true")
    assert saved.status_code == 200 and selectors.task(1).claims == ["lib/**"]


def test_the_task_page_shows_held_claims_and_overlaps_with_their_holders_live():
    holder = assigned_task("alice", claims=["src/**"])
    waiting = TaskFactory(title="Waits", claims=["src/a.py", "docs/**"])
    page = TaskPage({"id": str(waiting.id)})
    shown = page.snapshot()
    assert f'<code>src/a.py</code> is claimed by <a href="/tasks/{holder.id}/">task #{holder.id}</a>' in shown
    assert 'session <a href="/sessions/alice/">alice</a>) as <code>src/**</code>' in shown
    with store.event_context(actor="alice", source="test"):
        task_services.task_cancel(holder.id, expected_version=holder.version)
    update = page.update([notice("claim", "all")])
    assert update.strip().startswith('<section id="task-claims"') and "is claimed by" not in update
    assert page.update([notice("claim", "all")]) == ""  # nothing changed since: nothing sent
    held = TaskPage({"id": str(holder.id)}).snapshot()
    assert "Declared, claimed when it goes to work: <code>src/**</code>" in held


def test_the_session_page_lists_its_tasks_claims_and_its_agents_refused_edits_live(browser):
    assigned_task("alice", claims=["src/**"])
    mine = assigned_task("bob", claims=["docs/**"])
    page = SessionPage({"name": "bob"})
    shown = page.snapshot()
    assert f'<code>docs/**</code> for <a href="/tasks/{mine.id}/">task #{mine.id}</a>' in shown
    assert "Edits under another task's claim" not in shown
    with store.event_context(actor="bob", source="agent"):
        assert not task_services.edit_check("bob", "Edit", ["src/a.py"]).allowed
    update = page.update([notice("agent", "bob")])
    assert update.strip().startswith('<section id="session-claims"')
    assert '<code>src/a.py</code> refused to <a href="/sessions/bob/">bob</a> (Edit): claimed by' in update
    assert "as <code>src/**</code>" in update
    holder_page = browser.get("/tasks/1/").content.decode()
    assert "Edits refused under its claims" in holder_page and 'href="/sessions/bob/">bob</a> (Edit)' in holder_page
