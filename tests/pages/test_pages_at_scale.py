"""Pages with many sessions and tasks stay small: the overview shows each section's first cards and reads only
their screens; the board pages its finished columns and counts every column from the read model."""

import time

import pytest

from chorus_site.pages import board, overview
from chorus_site.pages.overview import OverviewPage
from events_app import store
from sessions_app import events as session_events
from sessions_app import mirror, tmux
from sessions_app.models import MirroredScreen
from tasks_app import selectors as task_selectors
from tasks_app import services as task_services

pytestmark = pytest.mark.django_db


def _session(name: str, status: str = "idle", ended: bool = False) -> None:
    created = session_events.SessionCreated(
        name=name, profile="shell", command=["sh"], cwd="/tmp", pane_id=f"%{name}", tmux_session=name, pid=None
    )
    changed = session_events.SessionStatusChanged(
        from_status="unknown", to_status=status, reason="test", rule="t", signal="t", text=""
    )
    with store.event_context(actor="test", source="test"):
        store.append("session", name, 0, [created, changed])
        if ended:
            store.append("session", name, 2, [session_events.SessionStopped(reason="test", exit_status=0)])


def _cards(html: bytes) -> list[str]:
    return [part.split(b'"', 1)[0].decode() for part in html.split(b'<article id="card-')[1:]]


def test_the_overview_shows_each_sections_first_cards_and_the_last_sessions_to_end(browser):
    live = [f"w{n:02d}" for n in range(overview.SHOWN["live"] + 2)]
    for name in live:
        _session(name)
    for name in ("e1", "e2", "e3", "e4"):
        _session(name, ended=True)  # e4 ended last
    page = browser.get("/").content
    cards = _cards(page)
    assert cards == [*live[: overview.SHOWN["live"]], "e4", "e3", "e2"]
    assert f"Showing {overview.SHOWN['live']} of {len(live)}".encode() in page
    assert b"Showing 3 of 4 (the last to end)" in page
    assert b"<b>4</b> ended" in page
    everything = browser.get("/?all=1").content
    assert sorted(_cards(everything)) == sorted([*live, "e1", "e2", "e3", "e4"])
    assert b"Showing every session" in everything


def test_only_the_cards_shown_have_their_screens_read_and_pushed():
    names = [f"w{n:02d}" for n in range(overview.SHOWN["live"] + 3)]
    for name in names:
        _session(name)
    mirror.record({name: (f"%{name}", f"{name} says hello\n", time.time()) for name in names})
    page = OverviewPage({})
    context = page.context()
    shown = names[: overview.SHOWN["live"]]
    assert set(mirror.wanted()) == set(shown)
    cards = [card for _key, _title, cards, _count in context["sections"] for card in cards]
    assert [card.tail[0].text for card in cards] == [f"{name} says hello" for name in shown]
    mirror.record({name: (f"%{name}", f"{name} moved on\n", time.time()) for name in names})
    pushed = page.refresh_screens()
    assert pushed.count('id="tail-') == len(shown) and f"{names[-1]} moved on" not in pushed
    MirroredScreen.objects.all().delete()
    everything = OverviewPage({"all": "1"})
    everything.context()
    assert set(mirror.wanted()) == set(names)


def test_a_finished_column_shows_its_last_to_finish_a_page_at_a_time(browser, monkeypatch):
    monkeypatch.setattr(board, "FINISHED_PAGE", 2)
    with store.event_context(actor="test", source="test"):
        cancelled = [task_services.task_create(f"Task {n}") for n in range(5)]
        for task in cancelled:
            task_services.task_cancel(task.id, expected_version=task.version)
    first = next(c for c in board.board({})["columns"] if c.status == "cancelled")
    assert (first.count, [t.id for t in first.tasks]) == (5, [5, 4])
    assert first.more == "cancelled=4"
    more = next(c for c in board.board({"cancelled": "4", "label": "x"})["columns"] if c.status == "cancelled")
    assert more.count == 0  # the filter still applies
    more = next(c for c in board.board({"cancelled": "4"})["columns"] if c.status == "cancelled")
    assert [t.id for t in more.tasks] == [5, 4, 3, 2] and more.more == "cancelled=6"
    page = browser.get("/tasks/?cancelled=6").content
    assert b"Show more" not in page and page.count(b'<li id="task-') == 5


def test_the_label_list_comes_from_the_label_rows_of_tasks_not_archived():
    with store.event_context(actor="test", source="test"):
        task_services.task_create("One", labels=["ui", "docs"])
        old = task_services.task_create("Old", labels=["legacy", "ui"])
        task_services.task_cancel(old.id, expected_version=old.version)
        task_services.task_archive(old.id, expected_version=old.version + 1)
    assert task_selectors.labels() == ["docs", "ui"]


def test_the_auto_dispatch_panel_lists_the_first_live_sessions_unless_asked_for_all(browser, monkeypatch):
    monkeypatch.setattr(board, "DISPATCH_SHOWN", 2)
    for name in ("a", "b", "c"):
        _session(name)
    page = browser.get("/tasks/?label=ui").content.decode()
    assert "Showing 2 of 3 live sessions" in page and 'href="?label=ui&amp;sessions=all"' in page
    assert "Showing" not in browser.get("/tasks/?sessions=all").content.decode().split('id="board"')[0]


def test_the_overview_and_the_board_never_call_tmux(browser, monkeypatch):
    def refuse(self, args, stdin=None):
        raise AssertionError(f"a page called tmux: {args}")

    monkeypatch.setattr(tmux.Tmux, "_call", refuse)
    for name in ("a", "b"):
        _session(name)
    mirror.record({"a": ("%a", "a screen\n", time.time())})
    for url in ("/", "/?all=1", "/tasks/"):
        assert browser.get(url).status_code == 200, url
