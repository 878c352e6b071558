"""What the agents spent on the pages: the task page shows what the task cost, the session page its usage, the
overview today's spend and a budget's pause; a usage event re-renders each, through the same partial."""

import pytest

from chorus_site.pages.overview import OverviewPage
from chorus_site.pages.session import SessionPage
from chorus_site.pages.task import TaskPage
from events_app import store
from tasks_app import git, selectors, services
from tasks_app.events import UsageRecorded
from tests.sessions_app.factories import SessionFactory
from tests.tasks_app.factories import assigned_task

pytestmark = pytest.mark.django_db

SPENT = {"turns": 3, "input": 1200, "output": 340, "cache_read": 5000, "cache_write": 800, "cost_micros": 1_234_567}


def spend(session: str, task: int | None) -> dict:
    event = UsageRecorded(task=task, day=selectors.today(), models={"claude-sonnet-4-5": SPENT}, files={})
    recorded = store.append("usage", session, store.stream_version("usage", session), [event])[0]
    return {"stream_type": "usage", "stream_id": session, "position": recorded.position}


def test_the_task_page_shows_what_the_task_cost_and_follows_usage(browser):
    with git.head_reader(lambda: None):  # the fast tier starts no git
        task = assigned_task("cc")
    assert "No usage recorded for this task." in browser.get(f"/tasks/{task.id}/").content.decode()
    page = TaskPage({"id": str(task.id)})
    page.snapshot()
    update = page.update([spend("cc", task.id)])
    assert 'id="task-cost"' in update and "$1.23" in update and "3 turns" in update
    assert "$1.23" in browser.get(f"/tasks/{task.id}/").content.decode()


def test_the_session_page_shows_its_usage(browser):
    SessionFactory(name="cc")
    page = SessionPage({"name": "cc"})
    page.snapshot()
    update = page.update([spend("cc", None)])
    assert 'id="session-usage"' in update and "$1.23" in update
    assert "1200 in" in browser.get("/sessions/cc/").content.decode()


def test_the_overview_shows_todays_spend_and_the_pause_of_the_budget_it_crossed(browser, settings):
    settings.CHORUS_DAILY_BUDGET = 1.0
    SessionFactory(name="cc")
    assert "Today: <b>$0.00</b> of $1.00" in browser.get("/").content.decode()
    page = OverviewPage({})
    page.snapshot()
    update = page.update([spend("cc", None)])
    assert "Today: <b>$1.23</b> of $1.00" in update
    assert "dispatch paused: daily budget $1.00 reached" in update and "Resume dispatch" in update
    services.dispatch_resume()
    assert "dispatch paused" not in browser.get("/").content.decode()
