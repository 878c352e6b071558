"""Without tmux: clear errors, nothing written, and a worker that keeps running."""

import pytest

from events_app import store
from sessions_app import services
from sessions_app.tmux import Tmux
from sessions_app.worker import SessionMonitor

pytestmark = pytest.mark.django_db


def no_tmux(command, **_options):
    raise FileNotFoundError(command[0])


@pytest.mark.integration
def test_creating_a_session_says_how_to_install_tmux(tmp_path, monkeypatch, settings):
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    settings.PROJECT_ROOT = tmp_path
    with pytest.raises(services.SessionError, match=r"tmux is not installed \(apt-get install tmux"):
        services.session_create("a1", "shell")
    assert store.last_position() == 0


def test_the_monitor_logs_once_and_goes_on(caplog):
    monitor = SessionMonitor(adapter=Tmux(run=no_tmux))
    with caplog.at_level("ERROR", logger="chorus.worker.sessions"):
        monitor.tick()
        monitor.tick()
    assert [r.getMessage() for r in caplog.records].count(
        "cannot read tmux: tmux is not installed (apt-get install tmux / brew install tmux)"
    ) == 1
