"""Read-only (CHORUS_READ_ONLY) in the sessions app: tmux runs only commands that look, whatever code asks, and
the worker types nothing (a message queued before the restart stays queued) while it keeps watching."""

import pytest

from events_app.errors import ReadOnly
from events_app.store import event_context
from sessions_app import services
from sessions_app.models import OutboxMessage, Session
from sessions_app.tmux import Tmux, TmuxMissing
from sessions_app.worker import SessionMonitor
from tests.sessions_app.factories import SessionFactory
from tests.sessions_app.test_tmux_parse import NoTmux
from tests.sessions_app.test_worker import ScriptedTmux, codex


@pytest.mark.parametrize(
    "act",
    [
        lambda tmux: tmux.send_text("%1", "rm -rf ~"),
        lambda tmux: tmux.paste_text("%1", "two\nlines"),
        lambda tmux: tmux.send_keys("%1", "Enter"),
        lambda tmux: tmux.new_session("s", ["sh"]),
        lambda tmux: tmux.kill_session("s"),
        lambda tmux: tmux.kill_pane("%1"),
        lambda tmux: tmux.set_tag("%1", "s"),
    ],
    ids=["text", "paste", "keys", "new", "kill", "kill-pane", "tag"],
)
def test_tmux_refuses_every_command_that_changes_a_terminal_before_it_runs(settings, act):
    settings.CHORUS_READ_ONLY = True
    runner = NoTmux()
    with pytest.raises(ReadOnly, match="would change a terminal"):
        act(Tmux(run=runner))
    assert runner.commands == []


def test_tmux_still_runs_the_commands_that_look(settings):
    settings.CHORUS_READ_ONLY = True
    runner = NoTmux()
    with pytest.raises(TmuxMissing):
        Tmux(run=runner).capture_many(["%1"])
    assert runner.commands[0][:3] == ["tmux", "-u", "display-message"]


@pytest.mark.django_db(transaction=True)
def test_the_worker_types_no_message_queued_before_it_started_and_still_watches(settings, tmp_path):
    settings.PROJECT_ROOT = tmp_path
    session = SessionFactory(profile="codex")
    message = services.session_send(session.name, "run the tests")
    settings.CHORUS_READ_ONLY = True
    tmux = ScriptedTmux(session, "codex", codex("Ask Codex to do anything"), after_enter=codex("", working=True))
    monitor = SessionMonitor(adapter=tmux)

    with event_context(actor="worker", source="worker"):  # as the worker's loop runs its jobs
        monitor.start()
        for _ in range(3):
            monitor.tick()
        tmux.show(codex("", working=True))
        for _ in range(3):
            monitor.tick()
        monitor.stop()

    assert tmux.typed == []
    assert OutboxMessage.objects.get(pk=message.id).state == "queued"
    assert Session.objects.get(pk=session.name).status == "busy"
