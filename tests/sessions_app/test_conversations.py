"""Conversations that survive: a session records its agent's conversation id (ConversationBound), a restart may
resume it with the profile's resume argv, and `sessions recover` finds the sessions tmux lost. Without tmux: the
real restart and recover runs are in test_limit_recovery_process.py (integration)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import pytest
from django.conf import settings as django_settings
from django.core.management import CommandError, call_command
from django.test import Client

from events_app import store
from sessions_app import services
from sessions_app.agents import aider, claude, codex, gemini
from sessions_app.catalog import load_profiles
from sessions_app.errors import SessionConflict
from sessions_app.limits import find_limit
from sessions_app.models import Session
from sessions_app.profiles import ProfileConfigError
from tests.sessions_app.factories import AdoptedSessionFactory, SessionFactory

CONVERSATION = "605d46b9-cbaf-4d65-833b-3ba8b940c183"


@pytest.mark.parametrize(
    ("profile", "arguments"),
    [
        (claude.PROFILE, ("--resume", CONVERSATION)),
        (codex.PROFILE, ("resume", CONVERSATION)),
        (gemini.PROFILE, ("--resume", CONVERSATION)),
        (aider.PROFILE, ()),
    ],
)
def test_the_resume_argv_comes_from_the_profile(profile, arguments):
    assert profile.resume_arguments(CONVERSATION) == arguments


def test_claude_code_s_session_file_names_its_conversation():
    report = claude.session_report({"status": "idle", "pid": 7, "sessionId": CONVERSATION}, pid_alive=True)
    assert report.conversation == CONVERSATION
    assert claude.session_report({"status": "idle"}, pid_alive=True).conversation == ""


@pytest.mark.django_db
def test_a_conversation_is_bound_once_and_again_when_it_changes():
    session = SessionFactory(profile="claude")
    assert services.session_bind_conversation(session, CONVERSATION, "Claude Code session file")
    bound = Session.objects.get(pk=session.name)
    assert bound.conversation == CONVERSATION
    assert not services.session_bind_conversation(bound, CONVERSATION, "Claude Code session file")
    assert services.session_bind_conversation(bound, "another", "Claude Code session file")
    events = [r.event for r in store.read(stream_type="session", stream_id=session.name)]
    assert [e.conversation for e in events if type(e).__name__ == "ConversationBound"] == [CONVERSATION, "another"]


@pytest.mark.django_db
def test_a_new_session_of_the_name_starts_without_the_old_conversation():
    session = SessionFactory(profile="claude", name="again")
    services.session_bind_conversation(session, CONVERSATION, "test")
    services.session_record_stopped(Session.objects.get(pk="again"), "pane dead (exit 0)", 0)
    SessionFactory(profile="claude", name="again")
    assert Session.objects.get(pk="again").conversation == ""


@pytest.mark.django_db
def test_resuming_needs_a_conversation_and_a_profile_that_can():
    bare = SessionFactory(profile="claude")
    with pytest.raises(SessionConflict, match="has no conversation of its agent recorded yet"):
        services.session_restart(bare.name, resume=True)
    other = SessionFactory(profile="aider")
    services.session_bind_conversation(other, CONVERSATION, "test")
    with pytest.raises(SessionConflict, match="profile aider does not say how to resume a conversation"):
        services.session_restart(other.name, resume=True)


@pytest.mark.django_db
def test_resuming_without_a_conversation_is_one_line_on_the_command_line_and_409_in_the_api():
    session = SessionFactory(profile="claude")
    with pytest.raises(CommandError, match=r"^session 's\d+' has no conversation of its agent recorded yet"):
        call_command("sessions", "restart", session.name, "--resume")
    api = Client(HTTP_AUTHORIZATION=f"Bearer {django_settings.CHORUS_TOKEN}")
    response = api.post(f"/api/sessions/{session.name}/restart?resume=true")
    assert response.status_code == 409
    assert "has no conversation of its agent recorded yet" in response.json()["detail"]


@pytest.mark.django_db
def test_the_sessions_to_recover_are_those_tmux_lost(monkeypatch):
    kept = SessionFactory(profile="claude")
    lost = SessionFactory(profile="claude")
    vanished = SessionFactory(profile="codex")
    services.session_record_stopped(vanished, services.PANE_GONE, None)
    exited = SessionFactory(profile="codex")
    services.session_record_stopped(exited, "pane dead (exit 0)", 0)
    killed = SessionFactory(profile="codex")
    store.append("session", killed.name, None, [services.ev.SessionKilled(leftover_pids=[])])
    AdoptedSessionFactory(profile="shell")
    monkeypatch.setattr(services, "tmux", lambda: SimpleNamespace(panes_by_tag=lambda: {kept.name: object()}))
    assert sorted(s.name for s in services.sessions_to_recover()) == sorted([lost.name, vanished.name])


def test_the_recovery_report_says_what_happened_to_each():
    resumed = SimpleNamespace(name="a", conversation=CONVERSATION, profile="claude")
    afresh = SimpleNamespace(name="b", conversation="", profile="codex")
    failed = SimpleNamespace(name="c", conversation="", profile="codex")
    outcome = [(resumed, ""), (afresh, ""), (failed, "codex is not installed (not on PATH)")]
    assert services.recovery_report(outcome).splitlines() == [
        f"a: recovered, resuming conversation {CONVERSATION}",
        "b: recovered (a new conversation)",
        "c: not recovered: codex is not installed (not on PATH)",
    ]
    assert services.recovery_report([]) == "Nothing to recover: every live session has its tmux pane."


def test_a_user_profile_declares_its_resume_and_limits_and_inherits_them(tmp_path):
    path = tmp_path / "chorus.toml"
    path.write_text(
        '[profiles.mine]\nextends = "claude"\n'
        '[profiles.tool]\ncommand = ["tool"]\nresume = ["--session", "{conversation}"]\n'
        '[[profiles.tool.limits]]\nname = "tool.quota"\npattern = "out of credits until (?P<reset>.+)"\n'
        'words = ["credits"]\nresumes = "continuing on its own"\n'
    )
    profiles = load_profiles(tmp_path, {"XDG_CONFIG_HOME": str(tmp_path / "none")})
    assert profiles["mine"].resume == claude.PROFILE.resume and profiles["mine"].limits == claude.PROFILE.limits
    assert profiles["tool"].resume_arguments("c1") == ("--session", "c1")
    assert [(limit.name, limit.words) for limit in profiles["tool"].limits] == [("tool.quota", ("credits",))]
    seen = find_limit(
        profiles["tool"].limits, "out of credits until 15:00, continuing on its own", datetime.now(UTC), UTC
    )
    assert seen is not None and seen.until is not None and seen.resumes_itself


@pytest.mark.parametrize(
    ("toml", "problem"),
    [
        ('resume = ["--resume"]', "'resume' must name the conversation"),
        ('[[profiles.tool.limits]]\nname = "x"\npattern = "("', "limits[0]: 'pattern'"),
        ('[[profiles.tool.limits]]\nname = "x"\npattern = "p"\nreset = 1', "unknown key 'reset'"),
        ('[[profiles.tool.limits]]\nname = "x"\npattern = "p"\nresumes = "["', "limits[0]: 'resumes'"),
    ],
)
def test_a_bad_resume_or_limit_is_one_line_naming_the_file(tmp_path, toml, problem):
    path = tmp_path / "chorus.toml"
    path.write_text(f'[profiles.tool]\ncommand = ["tool"]\n{toml}\n')
    with pytest.raises(ProfileConfigError) as error:
        load_profiles(tmp_path, {"XDG_CONFIG_HOME": str(tmp_path / "none")})
    assert str(path) in str(error.value) and problem in str(error.value) and "\n" not in str(error.value)


def rollout(home, when: datetime, conversation: str, cwd: str, name: str = "") -> None:
    """A Codex rollout file as codex-rs writes it: its first line the session_meta (openai/codex, rollout format
    as documented by its readers; fields beyond these left out)."""
    directory = home / "sessions" / f"{when:%Y}" / f"{when:%m}" / f"{when:%d}"
    directory.mkdir(parents=True, exist_ok=True)
    meta = {"id": conversation, "timestamp": when.isoformat(), "cwd": cwd, "originator": "codex_cli_rs"}
    first = {"timestamp": when.isoformat(), "type": "session_meta", "payload": meta}
    path = directory / (name or f"rollout-{when:%Y-%m-%dT%H-%M-%S}-{conversation}.jsonl")
    path.write_text(json.dumps(first) + "\n" + json.dumps({"type": "turn_context", "payload": {}}) + "\n")


def test_codex_s_conversation_is_the_first_rollout_started_in_its_directory_since_its_start(tmp_path):
    home = tmp_path / "codex"
    start = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=10)
    rollout(home, start - timedelta(minutes=5), "before-its-start", "/work/project")
    rollout(home, start + timedelta(seconds=2), "its-own", "/work/project")
    rollout(home, start + timedelta(seconds=1), "elsewhere", "/work/other")
    rollout(home, start + timedelta(minutes=3), "a-later-one", "/work/project")
    (home / "sessions" / f"{start:%Y/%m/%d}" / "rollout-broken.jsonl").write_text("not json\n")
    finder = codex.PROFILE.conversation_finder
    assert finder.find({"CODEX_HOME": str(home)}, "/work/project", start) == "its-own"
    assert finder.find({"HOME": str(tmp_path)}, "/work/project", start) is None  # ~/.codex has none
    assert finder.find({"CODEX_HOME": str(home)}, "/work/none", start) is None


@pytest.mark.django_db
def test_a_codex_session_s_conversation_is_found_and_recorded_when_a_resume_asks(tmp_path, monkeypatch):
    session = SessionFactory(profile="codex", cwd="/work/project")
    started = Session.objects.get(pk=session.name).created_at
    rollout(tmp_path / "codex", started + timedelta(seconds=1), "found-one", "/work/project")
    monkeypatch.setenv("CODEX_HOME", str(tmp_path / "codex"))
    assert services._resume_arguments(Session.objects.get(pk=session.name)) == ("resume", "found-one")
    bound = Session.objects.get(pk=session.name)
    assert bound.conversation == "found-one"
    events = [r.event for r in store.read(stream_type="session", stream_id=session.name)]
    assert [(e.conversation, e.source) for e in events if type(e).__name__ == "ConversationBound"] == [
        ("found-one", "codex_rollout")
    ]


def test_gemini_s_conversation_is_the_first_chat_recording_of_its_directory_since_its_start(tmp_path):
    start = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=10)
    (tmp_path / ".gemini").mkdir()
    (tmp_path / ".gemini" / "projects.json").write_text(json.dumps({"projects": {"/work/project": "project"}}))
    chats = tmp_path / ".gemini" / "tmp" / "project" / "chats"
    chats.mkdir(parents=True)
    # as Gemini CLI 0.61.0 starts a recording: its first line is the conversation's record
    for name, conversation, when in [
        ("a", "before-its-start", start - timedelta(minutes=1)),
        ("b", "its-own", start + timedelta(seconds=3)),
        ("c", "a-later-one", start + timedelta(minutes=2)),
    ]:
        record = {"sessionId": conversation, "projectHash": "h", "startTime": when.isoformat(), "kind": "main"}
        (chats / f"session-{name}.jsonl").write_text(json.dumps(record) + "\n" + json.dumps({"$set": {}}) + "\n")
    (chats / "session-d.jsonl").write_text('{"sessionId": "half-writ')
    finder = gemini.PROFILE.conversation_finder
    assert finder.find({"HOME": str(tmp_path)}, "/work/project", start) == "its-own"
    assert finder.find({"HOME": str(tmp_path)}, "/work/other", start) is None
