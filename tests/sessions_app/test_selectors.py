# ruff: noqa: RUF001  -- screens hold the look-alike glyphs TUIs really draw (U+276F), not typos for >.
"""Reads of sessions without tmux: rows, profiles, and a session's dialog options as its profile draws them."""

from __future__ import annotations

import pytest

from sessions_app import selectors
from sessions_app.errors import UnknownSession
from sessions_app.profiles import UnknownProfile
from tests.sessions_app import screens as s
from tests.sessions_app.factories import SessionFactory

pytestmark = pytest.mark.django_db

GEMINI_TRUST_OPTIONS = [("1", "Trust folder (proj)"), ("2", "Trust parent folder (u)"), ("3", "Don't trust (esc)")]


@pytest.fixture(autouse=True)
def project(settings, tmp_path, monkeypatch):
    settings.PROJECT_ROOT = tmp_path
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    return tmp_path


def test_dialog_options_follow_the_sessions_profile():
    gemini, claude = SessionFactory(profile="gemini"), SessionFactory(profile="claude")
    assert selectors.dialog_options(gemini.name, s.GEMINI_TRUST) == GEMINI_TRUST_OPTIONS
    # Claude Code draws ● in front of its messages, never in front of a selected option
    answer = "❯ what next?\n\n● 1. Add tests\n  2. Fix the build\n"
    assert selectors.dialog_options(claude.name, answer) == []
    assert selectors.dialog_options(gemini.name, answer) == [("1", "Add tests"), ("2", "Fix the build")]
    assert selectors.dialog_options(claude.name, s.fixture("permission_1"))[0] == ("1", "Yes")
    assert selectors.dialog_options(claude.name, s.fixture("idle_1")) == []


def test_a_user_profiles_markers_count(project):
    (project / "chorus.toml").write_text('[profiles.goose]\ncommand = ["goose"]\ndialog = { markers = "◆" }\n')
    session = SessionFactory(profile="goose")
    screen = "Which model?\n ◆ 1. fast\n   2. careful\n"
    assert selectors.dialog_options(session.name, screen) == [("1", "fast"), ("2", "careful")]


def test_a_profile_that_cannot_be_loaded_reads_options_with_the_common_markers(project):
    session = SessionFactory(profile="gone")
    assert selectors.dialog_options(session.name, s.CODEX_APPROVAL)[0] == ("1", "Yes, proceed (y)")


def test_reads_of_an_unknown_session_say_so():
    for read in (selectors.session, selectors.outbox, selectors.status_history):
        with pytest.raises(UnknownSession, match="no session named 'ghost'"):
            read("ghost")
    with pytest.raises(UnknownSession):
        selectors.dialog_options("ghost", "")


def test_profiles_and_one_profile(project):
    (project / "chorus.toml").write_text('[profiles.mine]\nextends = "shell"\n')
    assert [p.name for p in selectors.profiles()] == ["aider", "claude", "codex", "gemini", "mine", "shell"]
    assert selectors.profile("mine").extends == "shell"
    with pytest.raises(UnknownProfile):
        selectors.profile("nope")
