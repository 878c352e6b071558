import contextlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from sessions_app.tmux import Tmux, TmuxError, end_process_tree, process_tree
from tests.conftest import require_binary

FAKE_AGENT = Path(__file__).resolve().parent.parent / "fakeagent" / "fake_agent.py"


@contextlib.contextmanager
def private_tmux(config: str | None = None) -> Iterator[Tmux]:
    """A Tmux adapter on a server of its own (never the user's), its socket in a short /tmp directory (a unix socket
    path must fit in about 100 bytes, and pytest's tmp_path can be longer). `config`: the text of the file the
    adapter starts the server with (None: whoever starts the server chooses, e.g. a worker with its own HOME).

    At the end every pane's process tree is ended as well as the server: a program that ignores SIGHUP would
    otherwise outlive kill-server."""
    directory = tempfile.mkdtemp(prefix="chorus-tmux-", dir="/tmp")
    config_file = None
    if config is not None:
        config_file = Path(directory, "tmux.conf")
        config_file.write_text(config)
    server = Tmux(os.path.join(directory, "socket"), config_file=config_file)
    try:
        yield server
    finally:
        processes = []
        # a test that broke the server must not also leak it: the kill below runs whatever happened here
        with contextlib.suppress(TmuxError):
            processes = [process for pane in server.list_panes() for process in process_tree(pane.pid)]
        try:
            server.kill_server()
        finally:
            end_process_tree(processes, timeout=2.0)
            shutil.rmtree(directory, ignore_errors=True)


@pytest.fixture
def tmux_server():
    """A private tmux server without the user's ~/.tmux.conf (private_tmux).

    Panes without a program run /bin/sh, not the user's login shell (tmux's default-shell, and $SHELL, which the
    agents' launcher execs for a profile without a command): an interactive bash runs ~/.bashrc, whose hooks
    (pyenv's rehash lock, for one) can hold the prompt back for a minute and make a shell test fail."""
    require_binary("tmux", "apt-get install tmux")
    with private_tmux("set-option -g default-shell /bin/sh\nset-environment -g SHELL /bin/sh\n") as server:
        yield server


@pytest.fixture
def empty_server(tmux_server):
    """The private server started without a session and kept up without one, as a user's tmux.conf with
    `set -g exit-empty off` does: tmux then answers "no current target" where a missing server says "no server"."""
    config = Path(tmux_server.config_file)
    config.write_text(config.read_text() + "set-option -g exit-empty off\n")
    subprocess.run(["tmux", "-S", tmux_server.socket, "-f", str(config), "start-server"], check=True)
    return tmux_server


@pytest.fixture
def fake_agent_cmd(tmp_path):
    """Builds the argv of the fake agent (tests/fakeagent/fake_agent.py); its log defaults to
    tmp_path / "agent.jsonl"."""

    def command(*options: str, log: Path | None = None) -> list[str]:
        return [sys.executable, str(FAKE_AGENT), "--log", str(log or tmp_path / "agent.jsonl"), *options]

    return command


@pytest.fixture
def project(tmp_path, settings, tmux_server, monkeypatch):
    """A PROJECT_ROOT whose chorus.toml adds the `fake` profile (the fake agent, with Claude Code's rules, its
    session file and its hooks), and Chorus pointed at the private tmux server."""
    root = tmp_path / "project"
    (root / "sub").mkdir(parents=True)
    log = tmp_path / "agent.jsonl"
    sessions_dir = tmp_path / "claude-sessions"
    sessions_dir.mkdir()
    monkeypatch.setenv("CHORUS_CLAUDE_SESSIONS_DIR", str(sessions_dir))
    write_fake_profile(root, log, sessions_dir)
    settings.PROJECT_ROOT = root
    settings.CHORUS_TMUX_SOCKET = str(tmux_server.socket)
    settings.CHORUS_NOTIFY = "off"
    return Project(root, log)


def write_fake_profile(root: Path, log: Path, sessions_dir: Path) -> None:
    """root/chorus.toml with the `fake` profile: the fake agent logging its prompts to `log`, its Claude Code
    session files in `sessions_dir`, working 1 s on each prompt."""
    command = [sys.executable, str(FAKE_AGENT), "--log", str(log), "--sessions-dir", str(sessions_dir)]
    command += ["--work-seconds", "1"]
    (root / "chorus.toml").write_text(
        f'[profiles.fake]\nextends = "claude"\ncommand = {json.dumps(command)}\nprocess_names = ["python*"]\n'
    )


@dataclass(frozen=True)
class Project:
    root: Path
    log: Path


def received_prompts(log: Path) -> list[str]:
    if not log.exists():
        return []
    return [entry["text"] for entry in map(json.loads, log.read_text().splitlines()) if entry.get("event") == "prompt"]
