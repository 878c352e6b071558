import time

import pytest

from documents_app import services
from documents_app.editor import EDITOR_SESSION, editor_argv

pytestmark = pytest.mark.django_db


def test_the_editor_command_keeps_the_editors_own_arguments():
    assert editor_argv("emacs -nw", 12, "/p/a b.md") == ["emacs", "-nw", "+12", "/p/a b.md"]
    assert editor_argv("", 1, "/p/a.md") == ["vi", "+1", "/p/a.md"]


@pytest.mark.integration
def test_each_open_is_a_new_window_of_the_editor_session(project, settings, tmux_server, tmp_path):
    log = tmp_path / "editor.log"
    editor = tmp_path / "fake-editor"
    editor.write_text(f'#!/bin/sh\necho "$@" >> {log}\nexec sleep 30\n')
    editor.chmod(0o755)
    settings.EDITOR = f"{editor} --flag"
    settings.CHORUS_TMUX_SOCKET = str(tmux_server.socket)
    # Started here so the server runs without the user's ~/.tmux.conf.
    tmux_server.new_session("other", ["sleep", "30"])
    project.write("a b.md", "1\n2\n3\n")
    services.documents_scan()
    first = services.document_open_in_editor("a b.md", 2)
    second = services.document_open_in_editor("a b.md", 3)
    assert first.opened and second.opened
    assert first.tmux_session == EDITOR_SESSION and first.pane_id != second.pane_id
    assert str(tmux_server.socket) in first.attach_command and first.attach_command.endswith(f"-t {EDITOR_SESSION}")
    windows = {p.window_index for p in tmux_server.list_panes() if p.session_name == EDITOR_SESSION}
    assert len(windows) == 2
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and not (log.exists() and len(log.read_text().splitlines()) == 2):
        time.sleep(0.05)
    path = project.root / "a b.md"
    assert sorted(log.read_text().splitlines()) == [f"--flag +2 {path}", f"--flag +3 {path}"]
