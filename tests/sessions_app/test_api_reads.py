"""The sessions API's reads and their schemas, without tmux (sessions recorded as the worker would)."""

from __future__ import annotations

import pytest
from django.conf import settings as django_settings
from django.test import Client

from sessions_app import services
from sessions_app.detection import Verdict
from sessions_app.profiles import Status
from tests.sessions_app.factories import SessionFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def api(settings, tmp_path, monkeypatch):
    settings.PROJECT_ROOT = tmp_path
    settings.CHORUS_TMUX_SOCKET = "chorus-test"
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    return Client(HTTP_AUTHORIZATION=f"Bearer {django_settings.CHORUS_TOKEN}")


def test_a_session_is_served_by_its_schema(api):
    session = SessionFactory(profile="codex", command=["codex", "--yolo"])
    [listed] = api.get("/api/sessions").json()
    assert listed == api.get(f"/api/sessions/{session.name}").json()
    assert listed["command"] == ["codex", "--yolo"]
    assert listed["attach_command"] == f"tmux -L chorus-test attach -t {session.name}"
    assert {"name", "profile", "lifecycle", "status", "status_since", "version", "auto_dispatch"} <= set(listed)


@pytest.mark.parametrize(("limit", "status"), [(0, 422), (1001, 422), (-5, 422), (1, 200), (1000, 200)])
def test_the_history_limit_is_checked_by_its_schema(api, limit, status):
    session = SessionFactory()
    assert api.get(f"/api/sessions/{session.name}/history", {"limit": limit}).status_code == status


def test_the_history_is_newest_first_up_to_the_limit(api):
    session = SessionFactory()
    for status in ("idle", "busy", "idle"):
        session.refresh_from_db()
        services.session_record_status(session, Verdict(Status(status), f"saw {status}", "test.x", "screen"))
    history = api.get(f"/api/sessions/{session.name}/history", {"limit": 2}).json()
    assert [(h["from_status"], h["to_status"], h["reason"]) for h in history] == [
        ("busy", "idle", "saw idle"),
        ("idle", "busy", "saw busy"),
    ]


def test_profiles_and_outbox(api, tmp_path, monkeypatch):
    session = SessionFactory()
    message = services.session_send(session.name, "hello")
    assert [m["id"] for m in api.get(f"/api/sessions/{session.name}/outbox").json()] == [message.id]
    installed = tmp_path / "bin"
    installed.mkdir()
    (installed / "codex").write_text("#!/bin/sh\n")
    (installed / "codex").chmod(0o755)
    monkeypatch.setenv("PATH", str(installed))
    profiles = {p["name"]: p for p in api.get("/api/sessions/profiles").json()}
    assert profiles["codex"] == {
        "name": "codex",
        "description": "OpenAI Codex CLI",
        "command": ["codex", "-c", "notice.hide_rate_limit_model_nudge=true"],
        "agent": True,
        "installed": True,
        "missing": "",
    }
    assert (profiles["claude"]["installed"], profiles["claude"]["missing"]) == (
        False,
        "claude is not installed (not on PATH); install it or pick another profile",
    )
    assert (profiles["shell"]["agent"], profiles["shell"]["installed"]) == (False, True)
    assert api.get("/api/sessions/ghost/history").status_code == 404
