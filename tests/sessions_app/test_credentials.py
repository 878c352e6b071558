"""Agent credentials: issued with a secret only a 0600 file holds, verified by digest, revoked when their session
ends or is restarted (a restart under way keeps the credential it has just issued), their files removed by the
worker."""

import json
import re
import stat

import pytest

from events_app import store
from events_app.models import StoredEvent
from sessions_app import credentials, policies
from sessions_app import events as ev
from sessions_app.errors import AgentDenied, SessionError
from sessions_app.models import AgentCredential
from tests.sessions_app.factories import SessionFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def data_dir(tmp_path, settings):
    settings.DATA_DIR = tmp_path / "data"
    settings.DATA_DIR.mkdir(mode=0o700)
    return settings.DATA_DIR


def mode(path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def ends(name: str, event) -> None:
    store.append("session", name, store.stream_version("session", name), [event])


def credential_first(name: str, tier: str = "self"):
    """A session started as the launch code starts one: its credential issued, then its pane recorded."""
    issued = credentials.issue(name, tier)
    SessionFactory(name=name)
    return issued


def test_a_credential_is_a_secret_in_a_private_file_and_only_its_digest_in_the_log(data_dir):
    SessionFactory(name="s1")
    issued = credentials.issue("s1", "fleet-read")
    assert issued.directory == credentials.directory("s1") == data_dir / "agents" / "s1"
    assert issued.path == issued.directory / "credential"
    assert issued.path.read_text() == issued.secret and len(issued.secret) >= 43
    assert (mode(issued.directory), mode(issued.path)) == (0o700, 0o600)
    assert issued.secret not in repr(issued)
    assert credentials.verify(issued.secret) == ("s1", "fleet-read")
    assert credentials.verify(issued.secret + "\n") == ("s1", "fleet-read")
    stored = [json.dumps([row.data, row.metadata]) for row in StoredEvent.objects.all()]
    assert not any(issued.secret in row for row in stored)
    assert any(issued.digest in row for row in stored)
    assert AgentCredential.objects.get().digest == credentials.digest(issued.secret)


@pytest.mark.parametrize("tier", ["off", "admin", ""])
def test_an_unknown_tier_is_refused_and_nothing_is_written(tier, data_dir):
    SessionFactory(name="s1")
    before = store.last_position()
    with pytest.raises(SessionError, match="unknown agent tools tier"):
        credentials.issue("s1", tier)
    assert store.last_position() == before and not (data_dir / "agents").exists()


def test_a_new_credential_revokes_the_previous_one():
    SessionFactory(name="s1")
    old = credentials.issue("s1", "self")
    new = credentials.issue("s1", "fleet-write")
    with pytest.raises(AgentDenied, match="revoked: replaced by a new credential"):
        credentials.verify(old.secret)
    assert credentials.verify(new.secret) == ("s1", "fleet-write")
    assert new.path.read_text() == new.secret
    assert [c.tier for c in AgentCredential.objects.filter(revoked_at=None)] == ["fleet-write"]


@pytest.mark.parametrize(
    ("secret", "message"),
    [("", "no agent credential was given"), ("   ", "no agent credential was given"), ("nope", "unknown")],
)
def test_verify_refuses_what_is_no_credential(secret, message):
    with pytest.raises(AgentDenied, match=message) as refused:
        credentials.verify(secret)
    assert refused.value.status == 401


def test_a_credential_of_a_session_that_is_not_live_does_not_work():
    issued = credentials.issue("ghost", "self")
    with pytest.raises(AgentDenied, match="session ghost is gone"):
        credentials.verify(issued.secret)


@pytest.mark.parametrize(
    ("end", "reason"),
    [
        (ev.SessionKilled(leftover_pids=[]), "the session was killed"),
        (ev.SessionStopped(reason="pane dead (exit 0)", exit_status=0), "the session stopped: pane dead (exit 0)"),
        (ev.SessionRestarted(pane_id="%9", pid=None), "the session was restarted"),
    ],
)
def test_the_end_of_a_session_revokes_its_credential_in_the_same_transaction(end, reason):
    issued = credential_first("s1")
    ends("s1", end)
    with pytest.raises(AgentDenied, match=re.escape(f"revoked: {reason}")):
        credentials.verify(issued.secret)
    revoked = next(store.read(stream_type="agent", event_types=["AgentCredentialRevoked"]))
    assert revoked.metadata["policy"] == "agent_tools_end_with_their_session"


def test_a_restart_keeps_the_credential_it_issued_even_when_the_old_pane_is_recorded_stopped_meanwhile():
    old = credential_first("s1")
    new = credentials.issue("s1", "self")  # the restart's launch, before its SessionRestarted
    ends("s1", ev.SessionStopped(reason="its tmux pane is gone", exit_status=None))  # the worker saw the old pane go
    ends("s1", ev.SessionRestarted(pane_id="%9", pid=None))
    assert credentials.verify(new.secret) == ("s1", "self")
    with pytest.raises(AgentDenied, match="replaced"):
        credentials.verify(old.secret)


def test_a_restart_without_tools_revokes_the_old_credential():
    old = credential_first("s1")
    ends("s1", ev.SessionRestarted(pane_id="%9", pid=None))
    with pytest.raises(AgentDenied, match="the session was restarted"):
        credentials.verify(old.secret)


def test_in_force_refuses_a_credential_revoked_after_it_was_verified():
    issued = credential_first("s1")
    credentials.in_force("s1", issued.digest)
    credentials.revoke("s1", "taken away")
    with pytest.raises(AgentDenied, match="revoked"):
        credentials.in_force("s1", issued.digest)
    assert credentials.revoke("s1", "again") is False


def test_the_worker_removes_the_files_of_revoked_credentials_only(data_dir):
    gone = credential_first("s1")
    kept = credential_first("s2")
    (gone.directory / "mcp.json").write_text("{}")
    ends("s1", ev.SessionKilled(leftover_pids=[]))
    batch = list(store.read(event_types=["AgentCredentialRevoked"]))
    policies.revoked_credentials_leave_no_files(batch)
    assert not gone.directory.exists() and kept.path.read_text() == kept.secret
    policies.revoked_credentials_leave_no_files(batch)  # at least once: a batch offered again changes nothing


def test_at_start_the_worker_sweeps_every_directory_without_a_credential_in_force(data_dir):
    kept = credential_first("s1")
    stray = data_dir / "agents" / "old"
    stray.mkdir()
    (stray / "credential").write_text("left behind while the worker was down")
    policies.revoked_credentials_leave_no_files([])
    assert not stray.exists() and kept.path.exists()


def test_a_credential_issued_again_rewrites_its_file_in_place(data_dir):
    first = credential_first("s1")
    first.directory.chmod(0o755)
    second = credentials.issue("s1", "self")
    assert second.path.read_text() == second.secret and mode(second.directory) == 0o700
    assert sorted(p.name for p in second.directory.iterdir()) == ["credential"]


def test_a_symbolic_link_in_place_of_the_directory_is_refused(data_dir, tmp_path):
    (data_dir / "agents").mkdir()
    (data_dir / "agents" / "s1").symlink_to(tmp_path)
    SessionFactory(name="s1")
    before = store.last_position()
    with pytest.raises(SessionError, match="not a directory Chorus made"):
        credentials.issue("s1", "self")
    assert store.last_position() == before and not (tmp_path / "credential").exists()


@pytest.mark.parametrize("name", ["", ".", "..", "a/b"])
def test_a_directory_is_only_ever_one_level_under_agents(name):
    with pytest.raises(SessionError, match="invalid session name"):
        credentials.directory(name)
