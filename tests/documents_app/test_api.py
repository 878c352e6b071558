import pytest
from django.conf import settings as django_settings
from django.test import Client

from events_app import store
from sessions_app import services as sessions_services
from sessions_app.tmux import Tmux

pytestmark = pytest.mark.django_db


@pytest.fixture
def api():
    return Client(HTTP_AUTHORIZATION=f"Bearer {django_settings.CHORUS_TOKEN}")


@pytest.fixture
def tree(project, api):
    project.write("guide.md", "# Guide\nsecond\nthird\n")
    project.write("docs/deep/notes.txt", "notes\n")
    response = api.post("/api/documents/scan")
    assert response.status_code == 200, response.content
    return project


def test_scan_list_and_read(api, tree):
    rescan = api.post("/api/documents/scan").json()
    assert {k: rescan[k] for k in ("added", "unchanged", "errors")} == {"added": 0, "unchanged": 2, "errors": []}
    listed = api.get("/api/documents").json()
    assert [(d["path"], d["kind"], d["line_count"]) for d in listed] == [
        ("docs/deep/notes.txt", "text", 1),
        ("guide.md", "markdown", 3),
    ]
    document = api.get("/api/documents/guide.md").json()
    assert (document["title"], document["start"], document["end"], document["stale"]) == ("Guide", 1, 3, False)
    assert document["lines"] == [
        {"number": 1, "text": "# Guide"},
        {"number": 2, "text": "second"},
        {"number": 3, "text": "third"},
    ]
    assert api.get("/api/documents/guide.md", {"start": 2, "end": 2}).json()["lines"] == [
        {"number": 2, "text": "second"}
    ]
    assert api.get("/api/documents/docs/deep/notes.txt").json()["lines"] == [{"number": 1, "text": "notes"}]
    event = next(store.read(stream_type="document"))
    assert event.metadata == {**event.metadata, "actor": "api-token", "source": "api"}


@pytest.mark.parametrize(
    "path",
    [
        "/api/documents/nope.md",
        "/api/documents/../../etc/passwd",
        "/api/documents/..%2F..%2Fetc%2Fpasswd",
        "/api/documents/%2Fetc%2Fpasswd",
        "/api/documents/docs/../../outside.md",
    ],
)
def test_unknown_and_outside_paths_are_404(api, tree, path):
    response = api.get(path)
    assert response.status_code == 404
    assert response.json()["detail"].startswith("no document")


def test_outside_paths_name_no_document(api, tree):
    response = api.get("/api/documents/..%2F..%2Fetc%2Fpasswd")
    assert response.json() == {"detail": "no document '../../etc/passwd' under PROJECT_ROOT"}


def test_a_range_outside_the_file_as_it_is_now_is_409(api, tree):
    response = api.get("/api/documents/guide.md", {"start": 2, "end": 9})
    assert response.status_code == 409
    assert response.json() == {"detail": "lines 2-9 are outside guide.md, which has 3 lines"}
    assert api.get("/api/documents/guide.md", {"start": 0}).status_code == 422


def test_open_in_the_editor(api, tree, settings, monkeypatch):
    settings.EDITOR = "true"
    monkeypatch.setattr(sessions_services, "tmux", lambda: Tmux(binary="chorus-no-such-tmux"))
    response = api.post("/api/documents/guide.md/open", {"line": 3}, content_type="application/json")
    assert response.status_code == 200
    body = response.json()
    assert (body["opened"], body["command"]) == (False, f"true +3 {tree.root / 'guide.md'}")
    assert body["reason"].startswith("tmux is not available")
    outside = api.post("/api/documents/nope.md/open", {"line": 1}, content_type="application/json")
    assert outside.status_code == 404
    beyond = api.post("/api/documents/guide.md/open", {"line": 4}, content_type="application/json")
    assert beyond.status_code == 409
    assert api.post("/api/documents/guide.md/open", {"line": 0}, content_type="application/json").status_code == 422


def test_authentication_is_required(tree):
    assert Client().get("/api/documents").status_code == 401
    assert Client().get("/api/documents/guide.md").status_code == 401
