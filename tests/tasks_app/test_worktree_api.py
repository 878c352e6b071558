"""The API and the command line of where a task works, without git: isolation on create and changed, and the
refusals that come before git runs (tests/tasks_app/test_worktrees.py drives them through real git)."""

import io

import pytest
from django.conf import settings as django_settings
from django.core.management import CommandError, call_command
from django.test import Client

pytestmark = pytest.mark.django_db


@pytest.fixture
def api(docs):
    return Client(HTTP_AUTHORIZATION=f"Bearer {django_settings.CHORUS_TOKEN}")


def post(api, path, body):
    return api.post(f"/api/tasks{path}", body, content_type="application/json")


def run(*args) -> str:
    out = io.StringIO()
    call_command("tasks", *args, stdout=out)
    return out.getvalue()


def test_a_task_is_created_in_a_worktree_of_its_own_and_set_back_to_shared(api):
    created = post(api, "", {"title": "Isolated", "isolation": "worktree"})
    assert created.status_code == 201, created.content
    task = created.json()
    assert (task["isolation"], task["worktree_state"], task["worktree_path"]) == ("worktree", "", "")
    changed = post(api, f"/{task['id']}/isolation", {"version": task["version"], "isolation": "shared"})
    assert (changed.status_code, changed.json()["isolation"]) == (200, "shared")
    stale = post(api, f"/{task['id']}/isolation", {"version": task["version"], "isolation": "worktree"})
    assert stale.status_code == 409


@pytest.mark.parametrize(
    ("path", "body", "status", "detail"),
    [
        ("/1/isolation", {"version": 1, "isolation": "sandbox"}, 422, None),
        ("/1/worktree", {"version": 1, "base": "--upload-pack=x"}, 422, None),
        ("/1/merge", {"version": 1}, 409, "task 1 has no worktree"),
        ("/1/worktree/remove", {"version": 1, "force": True}, 409, "task 1 has no worktree"),
        ("/1/worktree/start", {"version": 1, "profile": "shell", "base": "a b"}, 422, None),
        ("/1/worktree/start", {"version": 1, "profile": "shell", "session": "bad name"}, 422, None),
        ("/1/worktree/start", {"version": 1, "profile": "no-such"}, 404, "no-such"),
        ("/9/merge", {"version": 1}, 404, "no task 9"),
    ],
)
def test_refusals_before_git(api, path, body, status, detail):
    post(api, "", {"title": "Shared"})
    response = post(api, path, body)
    assert response.status_code == status, response.content
    if detail:
        assert detail in response.json()["detail"]


def test_a_task_without_a_worktree_has_no_diff(api):
    post(api, "", {"title": "Shared"})
    response = api.get("/api/tasks/1/worktree/diff")
    assert response.status_code == 404
    assert "has no worktree or branch to compare" in response.json()["detail"]


def test_the_command_line_adds_a_worktree_task_and_says_each_refusal_in_one_line(docs):
    assert "added task 1 (ready)" in run("add", "Isolated", "--isolation", "worktree")
    assert "isolation: worktree (none made yet)" in run("show", "1")
    assert "task 1 works in the shared checkout" in run("isolation", "1", "shared")
    for args, error in [
        (["merge", "1"], "task 1 has no worktree"),
        (["worktree", "remove", "1", "--force"], "task 1 has no worktree"),
        (["worktree", "diff", "1"], "task 1 has no worktree or branch to compare"),
        (["worktree", "create", "1", "--base=-x"], "is no branch, tag or commit name"),
    ]:
        with pytest.raises(CommandError, match=error) as raised:
            run(*args)
        assert "\n" not in str(raised.value)
