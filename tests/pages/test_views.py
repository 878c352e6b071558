"""Pages and actions through Django's test client, and the live partials a page renders after events."""

import time

import pytest
from django.conf import settings
from django.test import Client

from chorus_site.pages.board import BoardPage
from chorus_site.pages.events import EventsPage
from chorus_site.pages.overview import OverviewPage
from chorus_site.pages.session import SessionPage
from chorus_site.pages.task import TaskPage
from events_app import store
from sessions_app import events as session_events
from sessions_app import mirror
from tasks_app import selectors as task_selectors
from tasks_app import services as task_services

pytestmark = pytest.mark.django_db


def _session(name: str, status: str = "idle") -> None:
    created = session_events.SessionCreated(
        name=name, profile="shell", command=["sh"], cwd="/tmp", pane_id="%999", tmux_session=name, pid=None
    )
    with store.event_context(actor="test", source="test"):
        store.append("session", name, 0, [created])
        if status != "unknown":
            changed = session_events.SessionStatusChanged(
                from_status="unknown", to_status=status, reason=f"test says {status}", rule="t", signal="t", text=""
            )
            store.append("session", name, 1, [changed])


def test_every_page_renders(browser):
    _session("one", "waiting")
    # the screen the worker last captured of it (no tmux here): what the pages show
    mirror.record({"one": ("%1", "$ make\n\x1b[32mall green\x1b[0m\n", time.time())})
    task_services.task_create("A task", labels=["ui"])
    for url in ["/", "/sessions/one/", "/events/", "/events/?stream=session&actor=test", "/tasks/", "/tasks/1/"]:
        response = browser.get(url)
        assert response.status_code == 200, url
        assert b'ws-connect="/ws/page/?page=' in response.content
    overview = browser.get("/").content
    assert b"(1) Sessions" in overview  # the tab title counts who waits
    assert b"test says waiting" in overview
    assert b'<span class="f2">all green</span>' in overview  # the card's last lines of the screen
    assert b'<span class="f2">all green</span>' in browser.get("/sessions/one/").content
    assert b"1 event" in browser.get("/events/verify").content or b"checked" in browser.get("/events/verify").content


def test_a_waiting_sessions_dialog_box_quotes_the_question_over_its_option_buttons(browser):
    _session("asks", "waiting")
    mirror.record({"asks": ("%1", "Run make in /src?\n\u276f 1. Yes\n  2. No, tell it why\n", time.time())})
    page = browser.get("/sessions/asks/").content.decode()
    assert '<b>The agent asks:</b> <q class="dialog-question">Run make in /src?</q>' in page
    assert 'data-key="1"><kbd>1</kbd> Yes</button>' in page and "<kbd>2</kbd> No, tell it why</button>" in page


def test_a_session_whose_outbox_waits_for_a_draft_says_so_and_offers_to_clear_it(browser):
    _session("held")
    with store.event_context(actor="test", source="test"):
        store.append("session", "held", 2, [session_events.DeliveryHeld(reason='input has a draft: "123"')])
    page = browser.get("/sessions/held/").content.decode()
    assert "The outbox waits:</span> input has a draft: &quot;123&quot;" in page
    assert 'action="/sessions/held/clear-input"' in page and "Clear input</button>" in page
    assert "input has a draft: &quot;123&quot;" in browser.get("/").content.decode()


def test_unknown_things_are_404(browser):
    for url in ["/sessions/nobody/", "/tasks/999/", "/documents/nothing.md"]:
        assert browser.get(url).status_code == 404, url


def test_actions_answer_htmx_with_a_flash_and_the_right_status(browser):
    created = browser.post("/tasks/new", {"title": "From the board", "labels": "ui, docs"}, HTTP_HX_REQUEST="true")
    assert created.status_code == 200
    assert b"Task #1 created" in created.content and b'href="/tasks/1/"' in created.content
    stale = browser.post("/tasks/1/status", {"status": "backlog", "version": "0"}, HTTP_HX_REQUEST="true")
    assert stale.status_code == 409 and b'id="flash"' in stale.content
    assert b"Task #1 was changed since this page showed it" in stale.content
    moved = browser.post("/tasks/1/status", {"status": "backlog", "version": "1"}, HTTP_HX_REQUEST="true")
    assert moved.status_code == 200 and b"Task #1 moved to Backlog." in moved.content
    refused = browser.post("/sessions/new", {"name": "no spaces"}, HTTP_HX_REQUEST="true")
    assert refused.status_code == 400 and b"invalid session name" in refused.content
    # without htmx: a redirect back with the message kept for the next page
    plain = browser.post("/tasks/new", {"title": "Plain form"}, HTTP_REFERER="http://127.0.0.1/tasks/")
    assert plain.status_code == 302 and plain["Location"] == "http://127.0.0.1/tasks/"
    assert b"Task #2 created" in browser.get("/tasks/").content


def test_the_task_page_edits_a_task_at_the_version_it_showed(browser):
    task = task_services.task_create("Old title", labels=["ui"])
    edit = {"title": "New title", "description": "Line one\r\nLine two", "priority": "4", "labels": "api, docs"}
    saved = browser.post("/tasks/1/edit", {**edit, "version": str(task.version)}, HTTP_HX_REQUEST="true")
    assert saved.status_code == 200 and b"Task #1 saved." in saved.content
    edited = task_selectors.task(1)
    assert (edited.title, edited.description, edited.priority, edited.labels) == (
        "New title",
        "Line one\nLine two",
        4,
        ["api", "docs"],
    )
    stale = browser.post(
        "/tasks/1/edit", {**edit, "title": "Lost", "version": str(task.version)}, HTTP_HX_REQUEST="true"
    )
    assert stale.status_code == 409
    assert b"Task #1 was changed since this page showed it" in stale.content
    assert b"nothing was saved. What you typed is still in the form" in stale.content
    assert task_selectors.task(1).title == "New title"
    page = browser.get("/tasks/1/").content.decode()
    assert 'value="New title"' in page and 'value="api, docs"' in page and f'value="{edited.version}"' in page


def test_the_login_page_offers_no_navigation_to_a_person_not_logged_in():
    login = Client(HTTP_HOST="127.0.0.1").get("/login/").content.decode()
    assert "Log in to Chorus" in login
    assert 'aria-label="Main"' not in login and 'href="/tasks/"' not in login
    assert 'class="inline-form login-form"' in login


def test_actions_need_the_csrf_token():
    client = Client(HTTP_HOST="127.0.0.1", enforce_csrf_checks=True)
    client.get(f"/login/?token={settings.CHORUS_TOKEN}")
    assert client.post("/tasks/new", {"title": "x"}).status_code == 403


def test_the_overview_sends_one_card_or_the_grid_when_a_card_changes_section():
    _session("a")
    _session("b")
    page = OverviewPage({})
    assert 'id="card-a"' in page.snapshot()
    event = {"stream_type": "session", "stream_id": "a", "position": 99}
    with store.event_context(actor="test", source="test"):
        store.append(
            "session",
            "a",
            2,
            [session_events.SessionStatusChanged("idle", "busy", "now busy", "t", "t", "")],
        )
    update = page.update([event])
    assert 'id="card-a"' in update and 'id="card-b"' not in update and 'id="session-grid"' not in update
    with store.event_context(actor="test", source="test"):
        store.append(
            "session",
            "a",
            3,
            [session_events.SessionStatusChanged("busy", "waiting", "asks", "t", "t", "")],
        )
    update = page.update([event])
    assert 'id="session-grid"' in update and 'id="section-waiting"' in update
    assert 'data-names="a"' in update  # the top bar's count of sessions waiting


def test_the_board_sends_only_the_columns_that_changed():
    task = task_services.task_create("Move me")
    page = BoardPage({})
    page.snapshot()
    task_services.task_set_status(task.id, "backlog", expected_version=task.version)
    update = page.update([{"stream_type": "task", "stream_id": str(task.id), "position": 5}])
    assert 'id="column-ready"' in update and 'id="column-backlog"' in update
    assert 'id="column-done"' not in update


def test_the_session_page_follows_its_own_session_and_every_outbox():
    _session("mine")
    _session("other")
    page = SessionPage({"name": "mine"})
    page.snapshot()
    other = page.update([{"stream_type": "session", "stream_id": "other", "position": 9}])
    assert 'id="session-head"' not in other
    mine = page.update([{"stream_type": "session", "stream_id": "mine", "position": 10}])
    assert 'id="session-head"' in mine and 'id="history"' in mine and 'id="dialog"' in mine
    assert 'id="outbox"' in page.update([{"stream_type": "message", "stream_id": "m1", "position": 11}])


def test_the_task_page_follows_the_tasks_it_waits_for_and_offers_the_lifecycles_moves():
    _session("worker")
    first = task_services.task_create("First")
    second = task_services.task_create("Second", status="backlog")
    task_services.task_add_dependency(second.id, first.id, expected_version=second.version)
    unrelated = task_services.task_create("Unrelated")
    page = TaskPage({"id": str(second.id)})
    snapshot = page.snapshot()
    assert 'value="ready"' in snapshot and 'value="cancelled"' in snapshot and 'value="done"' not in snapshot
    assert 'class="assign-form"' in snapshot  # a backlog task can be assigned
    assert page.update([{"stream_type": "task", "stream_id": str(unrelated.id), "position": 20}]) == ""
    assert 'id="task-detail"' in page.update([{"stream_type": "task", "stream_id": str(first.id), "position": 21}])


def test_an_older_page_of_the_event_log_keeps_what_it_showed():
    _session("logged")
    newest, older = EventsPage({}), EventsPage({"before": "2"})
    newest.snapshot(), older.snapshot()
    event = {"stream_type": "session", "stream_id": "logged", "position": 3}
    assert 'id="event-rows"' in newest.update([event])
    assert 'id="event-rows"' not in older.update([event])


def test_the_event_log_names_an_events_source_only_where_it_is_not_its_actor():
    _session("logged")  # appended by actor "test" through source "test"
    with store.event_context(actor="alice", source="web"):
        changed = session_events.SessionStatusChanged(
            from_status="idle", to_status="busy", reason="r", rule="t", signal="t", text=""
        )
        store.append("session", "logged", 2, [changed])
    rows = EventsPage({}).snapshot()
    assert '<td>alice <span class="muted">(web)</span></td>' in rows
    assert "<td>test</td>" in rows and "(test)" not in rows


def test_the_new_session_form_marks_what_cannot_start_and_says_which_names_are_allowed(
    browser, settings, tmp_path, monkeypatch
):
    settings.PROJECT_ROOT = tmp_path
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    (tmp_path / "bin").mkdir()
    (tmp_path / "bin" / "aider").write_text("#!/bin/sh\n")
    (tmp_path / "bin" / "aider").chmod(0o755)
    monkeypatch.setenv("PATH", str(tmp_path / "bin"))
    page = browser.get("/").content.decode()
    assert '<option value="claude">claude (not installed)</option>' in page
    assert '<option value="shell">shell (not an agent)</option>' in page
    assert '<option value="aider" selected>aider</option>' in page  # the installed agent is the default
    assert 'title="Use 1-40 letters, digits, &#x27;-&#x27; or &#x27;_&#x27;, starting with a letter or digit."' in page
    refused = browser.post("/sessions/new", {"name": "no spaces", "profile": "aider"}, HTTP_HX_REQUEST="true")
    assert refused.status_code == 400
    assert (
        "use 1-40 letters, digits, &#x27;-&#x27; or &#x27;_&#x27;, starting with a letter or digit"
        in refused.content.decode()
    )
    missing = browser.post("/sessions/new", {"name": "reviewer", "profile": "claude"}, HTTP_HX_REQUEST="true")
    assert missing.status_code == 404
    assert "claude is not installed (not on PATH); install it or pick another profile" in missing.content.decode()
