"""Opening a document in the user's `$EDITOR` at a line, in a window of the tmux session "chorus-editor".

sessions_app's adapter starts sessions but has no `new-window` yet, and this app may not change it, so the one
extra tmux command lives in a subclass here that reuses the adapter's invocation, socket and error handling. It
belongs in sessions_app/tmux.py once that app takes it.
"""

from __future__ import annotations

import dataclasses
import os
import secrets
import shlex
import shutil
from collections.abc import Sequence

from sessions_app import tmux as tmux_adapter

EDITOR_SESSION = "chorus-editor"


@dataclasses.dataclass(frozen=True)
class EditorLaunch:
    """How the editor was started: in tmux (`opened`, look at it with `attach_command`), or not, in which case
    `command` is for the user to run and `reason` says why Chorus could not."""

    command: str
    opened: bool
    tmux_session: str = ""
    pane_id: str = ""
    attach_command: str = ""
    reason: str = ""


def editor_argv(editor: str, line: int, absolute: str) -> list[str]:
    """`$EDITOR +LINE FILE` as an argv; EDITOR may carry arguments of its own ("emacs -nw", "code -w")."""
    words = shlex.split(editor) or ["vi"]
    return [*words, f"+{line}", absolute]


class EditorTmux(tmux_adapter.Tmux):
    @classmethod
    def like(cls, adapter: tmux_adapter.Tmux) -> EditorTmux:
        """The same server as `adapter` (the one Chorus's sessions live on)."""
        return cls(adapter.socket, binary=adapter.binary, config_file=adapter.config_file, timeout=adapter.timeout)

    def open_window(self, session: str, argv: Sequence[str], cwd: str) -> tmux_adapter.PaneInfo:
        """Run `argv` in a new window of `session`, creating the session (with it as the first window) if needed.
        A window closes when its editor exits. Without a tmux to run, TmuxMissing before anything is started."""
        if shutil.which(self.binary) is None:
            raise tmux_adapter.TmuxMissing(f"tmux is not installed ({tmux_adapter.INSTALL_HINT})")
        try:
            return self.new_session(session, argv, cwd=cwd, remain_on_exit=False)
        except tmux_adapter.SessionExists:
            pass
        token = secrets.token_hex(6)
        args = [
            "new-window",
            "-P",
            "-F",
            tmux_adapter.pane_format(token),
            "-t",
            f"={tmux_adapter.check_session_name(session)}:",
            "-c",
            tmux_adapter.argument(os.fspath(cwd)),
            "--",
            *(tmux_adapter.argument(arg) for arg in argv),
        ]
        return tmux_adapter.parse_panes(self._run(args), token)[0]
