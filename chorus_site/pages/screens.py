"""What a session's terminal shows, as the pages read it: the screens the worker last captured
(sessions_app.mirror), through the sessions selector. The web process never calls tmux for a page.

Every screen a page shows comes through its `Screens` reader, which also keeps telling the worker that the page
shows them (every RENEW_SECONDS), so the worker captures each shown pane once per tick, for every page at once.
The pages keep their own diffing: they push a screen only when it changed.
"""

from __future__ import annotations

import time
from collections.abc import Iterable

from sessions_app import mirror
from sessions_app import selectors as session_selectors


class Screens:
    """One page's reader of the screens it shows."""

    def __init__(self) -> None:
        self._told: tuple[frozenset[str], float] = (frozenset(), 0.0)

    def read(self, names: Iterable[str]) -> dict[str, str]:
        """The ANSI screen of each session named that the worker has captured ({session name: screen})."""
        names = frozenset(names)
        now = time.time()
        told, at = self._told
        if names and (not names <= told or now - at >= mirror.RENEW_SECONDS):
            mirror.watch(names, now)
            self._told = (names, now)
        return {name: screen.text for name, screen in session_selectors.screens(names).items()}
