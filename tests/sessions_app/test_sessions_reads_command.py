"""`manage.py sessions` reads without tmux: the API's schemas as --json, tables for people, one-line errors."""

from __future__ import annotations

import io
import json

import pytest
from django.conf import settings
from django.core.management import CommandError, call_command

from sessions_app import services
from sessions_app.detection import Verdict
from sessions_app.profiles import Status
from tests.sessions_app.factories import SessionFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def socket(settings):
    settings.CHORUS_TMUX_SOCKET = "chorus-test"


def run(*args: str) -> str:
    out = io.StringIO()
    call_command("sessions", *args, stdout=out)
    return out.getvalue()


def test_json_is_what_the_api_serves(client, settings):
    session = SessionFactory(name="w1")
    services.session_record_status(session, Verdict(Status.IDLE, "rule x matched", "x", "screen"))
    [listed] = json.loads(run("--json", "list"))
    assert (listed["name"], listed["status"], listed["attach_command"]) == (
        "w1",
        "idle",
        "tmux -L chorus-test attach -t w1",
    )
    api = client.get("/api/sessions/w1", HTTP_AUTHORIZATION=f"Bearer {settings.CHORUS_TOKEN}").json()
    assert listed == api
    [change] = json.loads(run("--json", "history", "w1"))
    assert (change["from_status"], change["to_status"], change["reason"]) == ("starting", "idle", "rule x matched")
    message = json.loads(run("--json", "send", "w1", "hello"))
    assert [m["id"] for m in json.loads(run("--json", "outbox", "w1"))] == [message["id"]]


def test_tables_for_people():
    SessionFactory(name="w2", profile="codex")
    header, row = run("list").splitlines()
    # one vocabulary: the lifecycle (live, ended, killed) and the status (idle, busy, waiting, stopped) apart
    assert header.split() == ["NAME", "HOST", "PROFILE", "LIFECYCLE", "STATUS", "FOR", "WHY"]
    assert row.split()[:5] == ["w2", settings.CHORUS_HOST_NAME, "codex", "live", "starting"]
    assert run("attach", "w2").strip() == "tmux -L chorus-test attach -t w2"
    assert "AT" in run("history", "w2")


def test_a_domain_error_is_one_line():
    with pytest.raises(CommandError, match=r"^no session named 'ghost'$"):
        run("history", "ghost")
    with pytest.raises(CommandError, match=r"^no message 'nope'$"):
        run("cancel", "nope")


def test_profiles_say_which_are_agents_and_which_are_installed(tmp_path, monkeypatch):
    installed = tmp_path / "bin"
    installed.mkdir()
    (installed / "aider").write_text("#!/bin/sh\n")
    (installed / "aider").chmod(0o755)
    monkeypatch.setenv("PATH", str(installed))
    rows = {line.split()[0]: line.split()[1:3] for line in run("profiles").splitlines()[1:]}
    assert rows["aider"] == ["yes", "yes"]
    assert rows["claude"] == ["yes", "NO"]
    assert rows["shell"] == ["no", "yes"]
    listed = {p["name"]: p for p in json.loads(run("--json", "profiles"))}
    assert listed["claude"]["missing"] == "claude is not installed (not on PATH); install it or pick another profile"


def test_an_empty_list_names_the_whole_command_that_starts_a_session():
    chorus_py = settings.BASE_DIR / "chorus.py"
    assert run("list").startswith(f"no sessions; start one with: python3 {chorus_py} sessions new NAME --profile ")
