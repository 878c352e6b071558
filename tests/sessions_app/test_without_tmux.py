"""Without tmux on PATH: clear errors, nothing written, and a worker that keeps running."""

import pytest

from events_app import store
from sessions_app import services
from sessions_app.worker import SessionMonitor

pytestmark = pytest.mark.django_db


@pytest.fixture
def no_tmux(tmp_path, monkeypatch, settings):
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    settings.PROJECT_ROOT = tmp_path
    settings.CHORUS_NOTIFY = "off"


def test_creating_a_session_says_how_to_install_tmux(no_tmux):
    with pytest.raises(services.SessionError, match=r"tmux is not installed \(apt-get install tmux"):
        services.session_create("a1", "shell")
    assert store.last_position() == 0


def test_the_monitor_logs_once_and_goes_on(no_tmux, caplog):
    monitor = SessionMonitor()
    with caplog.at_level("ERROR", logger="chorus.worker.sessions"):
        monitor.tick()
        monitor.tick()
    assert [r.getMessage() for r in caplog.records].count(
        "cannot read tmux: tmux is not installed (apt-get install tmux / brew install tmux)"
    ) == 1
