"""The task page's "where it works" panel (templates/tasks/worktree.html) and its forms, through Django's test
client, without git: what it offers in each state, and its refusals as flash messages."""

import pytest

from events_app import store
from tasks_app import events as ev
from tasks_app import services as task_services
from tasks_app.models import Task

pytestmark = pytest.mark.django_db


def test_a_shared_task_offers_a_worktree_and_an_isolated_one_its_moves(browser):
    task = task_services.task_create("Parse it")
    page = browser.get(f"/tasks/{task.id}/").content.decode()
    assert "In the shared checkout." in page
    assert "Work in a worktree of its own" in page and "Make its worktree" in page
    assert page.count('name="base"') == 1  # one "From" for both of its buttons
    assert "Merge into the shared checkout" not in page
    made = ev.WorktreeCreated(path="/w/task-1", branch="chorus/task-1", base="main", base_commit="c" * 40)
    store.append("task", str(task.id), task.version, [ev.TaskIsolationChosen(isolation="worktree"), made])
    page = browser.get(f"/tasks/{task.id}/").content.decode()
    assert "<code>/w/task-1</code>, on branch <code>chorus/task-1</code> from main" in page
    assert "Merge into the shared checkout" in page and "Remove worktree and branch" in page
    assert "Make its worktree" not in page and "Work in the shared checkout instead" not in page


def test_the_isolation_form_changes_it_at_the_version_the_page_showed(browser):
    task = task_services.task_create("Parse it")
    answer = browser.post(f"/tasks/{task.id}/isolation", {"version": task.version, "isolation": "worktree"})
    assert answer.status_code == 302
    assert Task.objects.get(pk=task.id).isolation == "worktree"
    stale = browser.post(
        f"/tasks/{task.id}/isolation", {"version": task.version, "isolation": "shared"}, HTTP_HX_REQUEST="true"
    )
    assert stale.status_code == 409 and "was changed since this page showed it" in stale.content.decode()


def test_a_refused_worktree_move_is_an_error_message_and_writes_nothing(browser):
    task = task_services.task_create("Parse it")
    answer = browser.post(
        f"/tasks/{task.id}/worktree", {"version": task.version, "base": "--evil"}, HTTP_HX_REQUEST="true"
    )
    assert answer.status_code == 400 and "is no branch, tag or commit name" in answer.content.decode()
    merge = browser.post(f"/tasks/{task.id}/merge", {"version": task.version}, HTTP_HX_REQUEST="true")
    assert merge.status_code == 409 and "has no worktree" in merge.content.decode()
    assert Task.objects.get(pk=task.id).version == task.version


def test_the_quick_create_form_makes_a_worktree_task(browser):
    browser.post("/tasks/new", {"title": "Isolated", "worktree": "1"})
    browser.post("/tasks/new", {"title": "Shared"})
    assert dict(Task.objects.values_list("title", "isolation")) == {"Isolated": "worktree", "Shared": "shared"}


def test_a_broken_profiles_file_leaves_the_task_page_up_without_the_start_form(browser, settings, tmp_path):
    settings.PROJECT_ROOT = tmp_path
    (tmp_path / "chorus.toml").write_text("[profiles.x]\nextends = 3\n")
    task = task_services.task_create("Parse it")
    page = browser.get(f"/tasks/{task.id}/")
    assert page.status_code == 200
    assert "Make its worktree" in page.content.decode()
    assert "Start a session in its worktree" not in page.content.decode()
