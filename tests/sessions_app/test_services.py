"""Session services that decide before touching tmux (so these run without it): a profile whose program is not
installed is refused, the form's default is an installed agent, a live session cannot be removed, and a removal
leaves the read models as a rebuild would."""

from __future__ import annotations

import pytest

from events_app import projection, store
from sessions_app import events as ev
from sessions_app import selectors, services
from sessions_app.errors import ProgramMissing
from sessions_app.models import Session, StatusChange
from tests.sessions_app.factories import SessionFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def project(tmp_path, settings, monkeypatch):
    """A PROJECT_ROOT with a profile whose program is nowhere, and a PATH holding only `bin/`."""
    root = tmp_path / "project"
    root.mkdir()
    (root / "chorus.toml").write_text('[profiles.ghost]\ncommand = ["no-such-agent-cli"]\nagent = true\n')
    settings.PROJECT_ROOT = root
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    installed = tmp_path / "bin"
    installed.mkdir()
    monkeypatch.setenv("PATH", str(installed))
    return installed


def install(directory, program: str) -> None:
    (directory / program).write_text("#!/bin/sh\n")
    (directory / program).chmod(0o755)


@pytest.mark.parametrize(
    ("profile", "message"),
    [
        ("claude", "claude is not installed (not on PATH); install it or pick another profile"),
        ("ghost", "no-such-agent-cli is not installed (not on PATH); install it or pick another profile"),
    ],
)
def test_a_profile_whose_program_is_not_installed_is_refused_before_anything_starts(project, profile, message):
    with pytest.raises(ProgramMissing) as refused:
        services.session_create("reviewer", profile)
    assert str(refused.value) == message
    assert store.last_position() == 0


def test_a_restart_checks_the_program_too_before_stopping_anything(project):
    SessionFactory(name="old", profile="codex")
    before = store.last_position()
    with pytest.raises(ProgramMissing, match="codex is not installed"):
        services.session_restart("old")
    assert store.last_position() == before


def test_the_default_profile_is_an_installed_agent(project):
    assert selectors.default_profile() == "claude"  # none is installed: the default, whose refusal says why
    install(project, "codex")
    install(project, "sh")
    assert selectors.default_profile() == "codex"
    install(project, "claude")
    assert selectors.default_profile() == "claude"


def test_a_live_session_is_not_removed(project):
    SessionFactory(name="busy-one")
    before = store.last_position()
    with pytest.raises(services.SessionConflict, match="session 'busy-one' is live; kill it first"):
        services.session_remove("busy-one")
    assert store.last_position() == before


def test_a_removed_session_leaves_the_read_models_as_a_rebuild_does_and_its_stream_goes_on(project):
    session = SessionFactory(name="gone")
    stopped = ev.SessionStopped(reason="pane dead (exit 1)", exit_status=1)
    store.append("session", "gone", session.version, [stopped])
    store.append("session", "gone", session.version + 1, [ev.SessionRemoved(pane_cleaned=True)])
    assert not Session.objects.filter(pk="gone").exists()
    assert not StatusChange.objects.filter(session="gone").exists()
    assert projection.verify() == []
    again = SessionFactory(name="gone")  # the name is free; the stream keeps the history before it
    assert (again.lifecycle, again.version) == ("live", 4)


def test_keys_pressed_while_the_worker_records_the_session_are_recorded_not_refused(monkeypatch):
    """The worker may append to the session (its status) between the read and the record of pressed keys: the keys
    are pressed by then, so they are recorded, not answered with "changed meanwhile"."""
    session = SessionFactory()

    class Pane:
        def send_keys(self, pane_id, *keys):
            store.append("session", session.name, None, [ev.DeliveryHeld(reason='input has a draft: "1"')])

    monkeypatch.setattr(services, "tmux", Pane)
    services.session_send_keys(session.name, ["Enter"])
    assert [e.event_type for e in store.read(stream_type="session", stream_id=session.name)][-2:] == [
        "DeliveryHeld",
        "KeysSent",
    ]


def test_a_profile_that_works_in_worktrees_starts_no_session_in_the_shared_checkout(project, settings):
    install(project, "claude")
    (settings.PROJECT_ROOT / "chorus.toml").write_text('[profiles.alone]\nextends = "claude"\nisolation = "worktree"\n')
    with pytest.raises(services.SessionError, match=r"start it for a task \(tasks worktree start TASK --profile alone"):
        services.session_create("reviewer", "alone")
    assert store.last_position() == 0
