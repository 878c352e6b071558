"""The tasks API: JSON in and out, the version the client saw on every change, errors as {"detail": ...}."""

import pytest
from django.conf import settings as django_settings
from django.test import Client

from events_app import store
from tasks_app.models import Task
from tests.tasks_app.helpers import numbered, session_appears

pytestmark = pytest.mark.django_db


@pytest.fixture
def api(docs):
    docs.write("spec.md", numbered(20))
    return Client(HTTP_AUTHORIZATION=f"Bearer {django_settings.CHORUS_TOKEN}")


def post(api, path, body=None):
    return api.post(f"/api/tasks{path}", body or {}, content_type="application/json")


def patch(api, path, body):
    return api.patch(f"/api/tasks{path}", body, content_type="application/json")


@pytest.fixture
def created(api):
    body = {
        "title": "Parse it",
        "description": "**now**",
        "priority": 2,
        "labels": ["parser"],
        "references": [{"path": "spec.md", "start": 2, "end": 3}],
    }
    response = post(api, "", body)
    assert response.status_code == 201, response.content
    return response.json()


def test_create_and_read_a_task_with_its_references_and_prompt(api, created):
    assert (created["id"], created["status"], created["version"], created["blocked_by"]) == (1, "ready", 2, [])
    [reference] = created["references"]
    assert (reference["id"], reference["stale"], reference["missing"], reference["snapshot"]) == (
        "1.1",
        False,
        False,
        "line 2\nline 3",
    )
    assert created["prompt"].endswith("spec.md:2-3\n```\nline 2\nline 3\n```")
    assert api.get("/api/tasks/1").json() == created
    assert api.get("/api/tasks/1/prompt").json() == {"prompt": created["prompt"], "error": None}
    event = next(store.read(stream_type="task"))
    assert (event.metadata["actor"], event.metadata["source"]) == ("api-token", "api")


def test_list_filters(api, created):
    post(api, "", {"title": "Other", "labels": ["ui"], "status": "backlog"})
    post(api, "", {"title": "Gone"})
    post(api, "/3/archive", {"version": 1})
    ids = lambda **query: [t["id"] for t in api.get("/api/tasks", query).json()]  # noqa: E731
    assert ids() == [1, 2]
    assert ids(status="backlog") == [2]
    assert ids(label="parser") == [1]
    assert ids(q="oth") == [2]
    assert ids(archived=True) == [3]
    assert ids(include_archived=True) == [1, 2, 3]
    assert ids(stale=True) == []
    refused = api.get("/api/tasks", {"status": "nope"})
    assert refused.status_code == 422 and refused.json()["detail"][0]["loc"] == ["query", "status"]


@pytest.mark.parametrize("path", ["/api/tasks", "/api/tasks/dispatches", "/api/tasks/1/dispatches"])
def test_a_limit_is_between_1_and_1000(api, created, path):
    assert api.get(path, {"limit": 1}).status_code == 200
    for limit in (0, 1001):
        refused = api.get(path, {"limit": limit})
        assert refused.status_code == 422, refused.content
        assert refused.json()["detail"][0]["loc"][-1] == "limit"
    assert len(api.get("/api/tasks", {"limit": 1}).json()) == 1


def test_update_needs_the_version_seen_and_answers_409_when_stale(api, created):
    changed = patch(api, "/1", {"version": 2, "title": "Parse it all", "add_labels": ["urgent"]})
    assert changed.status_code == 200
    assert (changed.json()["title"], changed.json()["labels"], changed.json()["version"]) == (
        "Parse it all",
        ["parser", "urgent"],
        4,
    )
    stale = patch(api, "/1", {"version": 2, "priority": 9})
    assert stale.status_code == 409
    assert stale.json() == {
        "detail": "task '1' is at version 4, not 2: it was changed meanwhile",
        "expected": 2,
        "actual": 4,
    }
    assert Task.objects.get(pk=1).priority == 2


@pytest.mark.parametrize(
    ("method", "path", "body", "status", "detail"),
    [
        ("post", "", {"title": ""}, 422, None),
        ("post", "", {"title": "x", "labels": ["a b"]}, 422, None),
        ("post", "", {"title": "x", "references": [{"path": "spec.md", "start": 5, "end": 1}]}, 400, "reversed"),
        ("post", "", {"title": "x", "references": [{"path": "nope.md", "start": 1, "end": 1}]}, 404, "no document"),
        ("post", "", {"title": "x", "status": "done"}, 422, None),
        ("post", "", {"description": "no title"}, 422, None),
        ("patch", "/9", {"version": 1, "title": "x"}, 404, "no task 9"),
        ("post", "/9/assign", {"version": 1, "session": "s"}, 404, "no task 9"),
        ("post", "/1/assign", {"version": 2, "session": "ghost"}, 404, "no session named 'ghost'"),
        ("post", "/1/status", {"version": 2, "status": "done"}, 409, "cannot be marked done"),
        ("post", "/1/dependencies", {"version": 2, "depends_on": 1}, 409, "cannot depend on itself"),
        ("post", "/1/references", {"version": 2, "path": "spec.md", "start": 1, "end": 99}, 409, "has 20 lines"),
        ("post", "/1/references/1.9/refresh", {"version": 2}, 404, "no reference '1.9'"),
    ],
)
def test_errors(api, created, method, path, body, status, detail):
    position = store.last_position()
    response = post(api, path, body) if method == "post" else patch(api, path, body)
    assert response.status_code == status, response.content
    if detail:
        assert detail in response.json()["detail"]
    assert store.last_position() == position


def test_assign_then_dispatch_history_with_exact_prompts(api, created):
    session_appears("s1")
    session_appears("s2", auto_dispatch=True)
    post(api, "", {"title": "Next", "priority": 5})
    assigned = post(api, "/1/assign", {"version": 2, "session": "s1"})
    assert (assigned.status_code, assigned.json()["status"], assigned.json()["session"]) == (200, "assigned", "s1")
    dispatched = post(api, "/dispatch").json()
    assert [(t["id"], t["session"]) for t in dispatched["assigned"]] == [(2, "s2")]
    history = api.get("/api/tasks/dispatches").json()
    assert [(d["task_id"], d["via"]) for d in history] == [(2, "dispatch"), (1, "person")]
    [first] = api.get("/api/tasks/1/dispatches").json()
    assert first["prompt"] == created["prompt"]
    assert first["references"][0]["sha256"] == created["references"][0]["sha256"]
    assert (first["git_head_at_dispatch"], first["outcome"]) == (None, "")


def test_references_add_refresh_remove_and_their_flags(api, created, docs):
    added = post(api, "/1/references", {"version": 2, "path": "spec.md", "start": 10, "end": 11})
    assert (added.status_code, added.json()["id"]) == (201, "1.2")
    docs.write("spec.md", numbered(20).replace("line 10", "line ten"))
    flags = {r["id"]: (r["stale"], r["diff"] != "") for r in api.get("/api/tasks/1/references").json()}
    assert flags == {"1.1": (False, False), "1.2": (True, True)}
    assert api.get("/api/tasks", {"stale": True}).json()[0]["stale_references"] == 1
    refreshed = post(api, "/1/references/1.2/refresh", {"version": 4})
    assert (refreshed.json()["stale"], refreshed.json()["snapshot"]) == (False, "line ten\nline 11")
    removed = api.delete("/api/tasks/1/references/1.1?version=5")
    assert removed.status_code == 200 and removed.json()["version"] == 6
    docs.write("spec.md", "moved\n" + numbered(20).replace("line 10", "line ten"), scan=False)
    checked = post(api, "/1/references/check", {"version": 6}).json()
    assert [(r["id"], r["start"]) for r in checked] == [("1.2", 11)]


def test_dependencies_and_a_cycle_named(api, created):
    post(api, "", {"title": "second", "depends_on": [1]})
    post(api, "", {"title": "third"})
    assert post(api, "/3/dependencies", {"version": 1, "depends_on": 2}).json()["blocked_by"] == [2]
    cycle = post(api, "/1/dependencies", {"version": 2, "depends_on": 3})
    assert cycle.status_code == 409
    assert cycle.json()["detail"] == "task 1 cannot depend on 3: that makes a cycle 1 -> 3 -> 2 -> 1 (-> = waits for)"
    assert api.get("/api/tasks/2/dependencies").json() == {"depends_on": [1], "blocked_by": [1], "dependents": [3]}
    assert api.delete("/api/tasks/3/dependencies/2?version=2").json()["depends_on"] == []


def test_bulk_update_changes_all_or_nothing(api, created):
    post(api, "", {"title": "second"})
    changed = post(
        api,
        "/bulk",
        {"items": [{"id": 1, "version": 2}, {"id": 2, "version": 1}], "priority": 7, "add_labels": ["batch"]},
    )
    assert [(t["priority"], t["labels"]) for t in changed.json()] == [(7, ["batch", "parser"]), (7, ["batch"])]
    position = store.last_position()
    refused = post(api, "/bulk", {"items": [{"id": 1, "version": 4}, {"id": 2, "version": 1}], "status": "cancelled"})
    assert refused.status_code == 409
    assert refused.json()["detail"] == (
        "nothing was changed (a bulk change is all or none): task 2: task '2' is at version 3, not 1: it was changed"
        " meanwhile"
    )
    assert store.last_position() == position
    assert Task.objects.get(pk=1).status == "ready"
    archived = post(api, "/bulk", {"items": [{"id": 1, "version": 4}], "status": "backlog", "archived": True})
    assert [(t["status"], t["archived"]) for t in archived.json()] == [("backlog", True)]


def test_the_api_needs_authentication(docs):
    assert Client().get("/api/tasks").status_code == 401


def test_the_schema_documents_the_tasks_endpoints(api):
    paths = api.get("/api/openapi.json").json()["paths"]
    assert {"/api/tasks", "/api/tasks/{task_id}", "/api/tasks/bulk", "/api/tasks/dispatches"} <= set(paths)


def test_references_into_one_document_skip_archived_tasks(api, created):
    second = post(api, "", {"title": "Other", "references": [{"path": "spec.md", "start": 1, "end": 1}]})
    assert second.status_code == 201
    into = api.get("/api/tasks/references", {"document": "spec.md"}).json()
    assert [(r["task_id"], r["start"]) for r in into] == [(2, 1), (1, 2)]
    post(api, "/2/archive", {"version": second.json()["version"]})
    assert [r["task_id"] for r in api.get("/api/tasks/references", {"document": "spec.md"}).json()] == [1]
    assert api.get("/api/tasks/references", {"document": "elsewhere.md"}).json() == []


def test_claims_are_declared_on_create_and_update_and_the_live_ones_listed(api):
    response = post(api, "", {"title": "API", "claims": ["src/api/", "docs/*.md"]})
    assert response.status_code == 201, response.content
    task = response.json()
    assert (task["claims"], task["live_claims"]) == (["docs/*.md", "src/api/**"], [])
    session_appears("s1")
    assert post(api, f"/{task['id']}/assign", {"version": task["version"], "session": "s1"}).status_code == 200
    listed = api.get("/api/claims").json()
    assert [(c["glob"], c["task_id"], c["session"], c["source"]) for c in listed] == [
        ("docs/*.md", task["id"], "s1", "declared"),
        ("src/api/**", task["id"], "s1", "declared"),
    ]
    other = post(api, "", {"title": "Other"}).json()
    refused = patch(api, f"/{other['id']}", {"version": other["version"], "claims": ["../x"]})
    assert refused.status_code == 400 and "'..'" in refused.json()["detail"]
    changed = patch(api, f"/{other['id']}", {"version": other["version"], "claims": ["src/api/x.py"]})
    assert changed.json()["claims"] == ["src/api/x.py"]
    session_appears("s2")
    version = changed.json()["version"]
    clash = post(api, f"/{other['id']}/assign", {"version": version, "session": "s2"})
    assert clash.status_code == 409
    assert clash.json()["detail"] == f"src/api/x.py is claimed by task {task['id']} (session s1) as src/api/**"
