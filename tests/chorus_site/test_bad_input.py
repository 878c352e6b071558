"""Bad input anywhere is a clear refusal, never a crash: the API answers 4xx with {"detail": ...}, a command says one
line and exits non-zero, and nothing is written. Through Django's test client and call_command; what needs a real
server or a broken database is in test_security.py."""

import json

import pytest
from django.conf import settings
from django.core.management import CommandError, call_command
from django.test import Client

from events_app import store
from events_app.schemas import LARGEST_INTEGER
from sessions_app import services as session_services
from sessions_app.catalog import load_profiles
from sessions_app.errors import SessionError
from sessions_app.profiles import ProfileConfigError
from tasks_app import services as task_services

pytestmark = pytest.mark.django_db
TOO_LARGE = 1180591620717411303424  # 2**70: no SQLite integer


@pytest.fixture
def api():
    return Client(HTTP_AUTHORIZATION=f"Bearer {settings.CHORUS_TOKEN}")


@pytest.fixture
def task():
    return task_services.task_create("Existing")


def post(api, path, body: str):
    return api.post(path, body, content_type="application/json")


def refused(response, status: int, *fragments: str) -> str:
    assert response.status_code == status, response.content
    detail = response.json()["detail"]
    text = detail if isinstance(detail, str) else json.dumps(detail)
    for fragment in fragments:
        assert fragment in text
    return text


# A lone surrogate, as JSON spells it: "a\ud800b".
SURROGATE = "a\\ud800b"


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("post", "/api/tasks", f'{{"title": "{SURROGATE}"}}'),
        ("post", "/api/tasks", f'{{"title": "t", "description": "{SURROGATE}"}}'),
        ("post", "/api/tasks", f'{{"title": "t", "labels": ["{SURROGATE}"]}}'),
        ("patch", "/api/tasks/1", f'{{"version": 1, "title": "{SURROGATE}"}}'),
        ("post", "/api/tasks/1/status", f'{{"version": 1, "status": "done", "note": "{SURROGATE}"}}'),
        ("post", "/api/sessions/agent/messages", f'{{"text": "{SURROGATE}"}}'),
        ("post", "/api/sessions", f'{{"name": "s", "subdir": "{SURROGATE}"}}'),
        ("post", "/api/documents/spec.md/open", f'{{"line": 1, "{SURROGATE}": 1}}'),
    ],
)
def test_a_lone_surrogate_in_any_text_is_refused_before_anything_is_written(api, task, method, path, body):
    before = store.last_position()
    response = getattr(api, method)(path, body, content_type="application/json")
    refused(response, 400, "lone surrogate", "\\ud800")
    assert store.last_position() == before


@pytest.mark.parametrize(
    "body", ['"hello"', "12", "[]", '[{"title": "x"}]', "null", "true", "{x", b'{"title": "\xff"}']
)
def test_a_body_that_is_not_one_json_object_creates_nothing(api, body):
    refused(post(api, "/api/tasks", body), 400, "Cannot parse request body")
    assert store.last_position() == 0


@pytest.mark.parametrize(
    ("body", "where"),
    [
        ({"title": "t", "priority": False}, "priority"),
        ({"title": "t", "priority": "5"}, "priority"),
        ({"title": 5}, "title"),
        ({"title": "t", "depends_on": [True]}, "depends_on"),
        ({"title": "t\n"}, "title"),
        ({"title": "   "}, "title"),
        ({"title": "t", "labels": ["a b"]}, "labels"),
        ({"title": "t", "priority": 10**7}, "priority"),
        ({"title": "t", "depends_on": [TOO_LARGE]}, "depends_on"),
    ],
)
def test_a_body_is_taken_as_json_types_within_the_documented_bounds(api, body, where):
    refused(post(api, "/api/tasks", json.dumps(body)), 422, where)
    assert store.last_position() == 0


def test_a_whole_number_written_as_a_float_is_a_whole_number(api):
    response = post(api, "/api/tasks", '{"title": "t", "priority": 2.0}')
    assert response.status_code == 201 and response.json()["priority"] == 2


@pytest.mark.parametrize(
    "path",
    [
        f"/api/events?after={TOO_LARGE}",
        f"/api/events?limit={TOO_LARGE}",
        "/api/events?after=-1",
        "/api/events?since=0.5",
        f"/api/tasks/{TOO_LARGE}",
        "/api/tasks/0",
        f"/api/tasks/1/dependencies/{TOO_LARGE}?version=1",
        f"/api/tasks/1/references/1.1?version={TOO_LARGE}",
        f"/api/tasks?limit={TOO_LARGE}",
        "/api/tasks?status=nope",
        f"/api/tasks/dispatches?limit={TOO_LARGE}",
        f"/api/sessions/agent/history?limit={TOO_LARGE}",
        f"/api/documents/spec.md?start={TOO_LARGE}",
        "/api/documents/spec.md?end=0",
    ],
)
def test_every_integer_parameter_is_bounded(api, task, path):
    method = api.delete if "version=" in path else api.get
    refused(method(path), 422)


def test_a_document_path_with_a_line_break_gets_the_apis_json_404(api):
    response = api.get("/api/documents/notes%0A.md")
    assert response.status_code == 404 and response["Content-Type"].startswith("application/json")


@pytest.mark.parametrize("name", ["abc\n", "abc\n\n", "\nabc", "a" * 41, "_abc", "a b"])
def test_a_session_name_is_the_whole_string_matching_the_rule(api, name):
    refused(post(api, "/api/sessions", json.dumps({"name": name, "profile": "shell"})), 422, "name")
    with pytest.raises(SessionError, match="invalid session name"):
        session_services.session_create(name, "shell")
    with pytest.raises(CommandError, match="invalid session name"):
        call_command("sessions", "new", name, "--profile", "shell")
    assert store.last_position() == 0


def test_a_working_directory_with_a_nul_is_refused(api):
    with pytest.raises(SessionError, match="NUL"):
        session_services.session_create("agent", "shell", subdir="a\x00b")
    refused(post(api, "/api/sessions", json.dumps({"name": "agent", "subdir": "a\x00b"})), 422, "subdir")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["events", "--after", str(TOO_LARGE)], f"--after must be a position from 0 to {LARGEST_INTEGER}"),
        (["events", "--after", "-1"], "--after must be a position"),
        (["events", "--limit", str(TOO_LARGE)], f"--limit must be at least 1 and at most {LARGEST_INTEGER}"),
        (["tasks", "add", "a\udcffb"], "title is not UTF-8 text: a\\udcffb"),
        (["tasks", "add", "t", "--label", "\udcff"], "label is not UTF-8 text"),
        (["sessions", "send", "agent", "hi \udcff"], "is not UTF-8 text"),
        (["tasks", "add", "t", "--after", str(TOO_LARGE)], "cannot depend on it"),
    ],
)
def test_a_command_refuses_bad_input_in_one_line(args, message):
    with pytest.raises(CommandError) as refusal:
        call_command(*args)
    assert message in str(refusal.value) and "\n" not in str(refusal.value)
    assert store.last_position() == 0


def test_a_profile_name_in_a_profile_file_is_the_whole_string_matching_the_rule(tmp_path):
    (tmp_path / "chorus.toml").write_text('[profiles."review\\n"]\ncommand = ["x"]\n', encoding="utf-8")
    with pytest.raises(ProfileConfigError, match="invalid profile name 'review\\\\n'"):
        load_profiles(tmp_path, {"XDG_CONFIG_HOME": str(tmp_path / "config"), "HOME": str(tmp_path)})


def test_a_path_under_the_api_that_names_no_endpoint_is_a_json_404_and_a_page_stays_html(api):
    answer = api.post("/api/sessions/aider/outbox/cancel")
    assert answer.status_code == 404 and answer["Content-Type"] == "application/json"
    assert answer.json() == {"detail": "no such endpoint: POST /api/sessions/aider/outbox/cancel"}
    person = Client(HTTP_HOST="127.0.0.1")
    person.get(f"/login/?token={settings.CHORUS_TOKEN}")
    page = person.get("/no-such-page/")
    assert page.status_code == 404 and page["Content-Type"].startswith("text/html")
