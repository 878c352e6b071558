"""What a session's terminal shows now, as the pages read it: every screen a page shows comes through `screens()`.

Today the web process captures the panes itself, one tmux invocation for all the panes a page asks for at once.
When the worker keeps the last capture of every pane, only `screens()` changes; the pages keep their own diffing
(they push a screen only when it changed).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Mapping

from sessions_app import services as session_services
from sessions_app import tmux as tmux_adapter

Source = Callable[[Mapping[str, str]], Mapping[str, str]]


def capture(panes: Mapping[str, str]) -> dict[str, str]:
    """Capture the panes now ({session name: pane id}) in one tmux invocation: {session name: ANSI screen}."""
    if not panes:
        return {}
    try:
        captured = session_services.tmux().capture_many(panes.values(), ansi=True)
    except (tmux_adapter.TmuxError, ValueError):
        return {}
    return {name: captured[pane].text for name, pane in panes.items() if pane in captured}


_source: Source = capture


def screens(panes: Mapping[str, str]) -> dict[str, str]:
    """The ANSI screen of each session named ({session name: its pane id} -> {session name: screen}); a session
    whose screen cannot be read (its pane is gone, tmux is) is left out."""
    return dict(_source(panes))


@contextlib.contextmanager
def replaced(source: Source) -> Iterator[None]:
    """Test seam: inside the block the pages read every screen from `source` instead."""
    global _source
    previous, _source = _source, source
    try:
        yield
    finally:
        _source = previous
