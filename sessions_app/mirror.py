"""Terminal mirrors: the screens people are looking at, captured by the worker and read by every page.

The worker owns the panes: it captures each wanted screen at most once per tick, however many pages show it, and
stores what changed (`record`), then rings the pages (sessions_app.screens.announce). A page that shows a screen
says so (`watch`), which keeps it wanted for WATCH_SECONDS; pages read the stored screens through
sessions_app.selectors.screens. A process that does not own the host's tmux and needs the screen now (the API's
and the command line's screen read) asks for a fresh look (`look`): the worker captures it at its next tick, changed
or not. Nothing here is an event (screens are not history): this is a cache beside the read models, like the
documents scanner's.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterable, Mapping

from django.db import connection, transaction
from django.db.models import F

from sessions_app import screens as screen_news
from sessions_app.models import MirroredScreen

# How long one `watch` keeps a screen wanted; a page renews it every RENEW_SECONDS while it shows the screen, so a
# screen nobody shows any more stops being captured within WATCH_SECONDS.
WATCH_SECONDS = 5.0
RENEW_SECONDS = 2.0

# A row's captured_at while a fresh look is asked (`look`): the worker captures the screen at its next tick even if
# it knows it, and writes captured_at, its text changed or not.
ASKED = 0.0
# how often `look` reads the row while it waits
LOOK_EVERY = 0.02

# Escape sequences that draw nothing by themselves (colours, OSC titles): a row of only these is blank.
ESCAPES = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b[@-_]")


def visible_part(screen: str, cursor_y: int) -> str:
    """The rows of a captured screen worth showing: from the top down to its last row with content or the
    cursor's row, whichever is lower. A fresh shell or an inline program draws at the top of its pane, and the
    50-row pane's blank rest, shown scrolled to its bottom, would hide it."""
    ended = screen.endswith("\n")  # capture-pane ends every row with a newline
    rows = screen.split("\n")
    if ended:
        rows.pop()
    filled = [i for i, row in enumerate(rows) if ESCAPES.sub("", row).strip()]
    kept = rows[: max(filled[-1] if filled else -1, min(cursor_y, len(rows) - 1)) + 1]
    return "\n".join(kept) + ("\n" if ended and kept else "")


def watch(names: Iterable[str], now: float | None = None) -> None:
    """Keep these sessions' screens captured for the next WATCH_SECONDS."""
    due = sorted(set(names))
    if not due:
        return
    until = (time.time() if now is None else now) + WATCH_SECONDS
    with transaction.atomic():
        MirroredScreen.objects.bulk_create(
            [MirroredScreen(session=name, wanted_until=until) for name in due], ignore_conflicts=True
        )
        MirroredScreen.objects.filter(session__in=due).update(wanted_until=until)


def wanted(now: float | None = None) -> dict[str, bool]:
    """The sessions whose screens a page is showing now, each with whether a fresh look was asked (`look`)."""
    now = time.time() if now is None else now
    rows = MirroredScreen.objects.filter(wanted_until__gt=now).values_list("session", "captured_at")
    return {name: captured_at == ASKED for name, captured_at in rows}


def look(name: str, wait: float) -> MirroredScreen | None:
    """Ask the worker of the session's host for a fresh capture of its screen and wait up to `wait` seconds: the
    row as that capture left it, or None when no capture came."""
    until = time.time() + WATCH_SECONDS
    with transaction.atomic():
        MirroredScreen.objects.bulk_create([MirroredScreen(session=name, wanted_until=until)], ignore_conflicts=True)
        MirroredScreen.objects.filter(session=name).update(wanted_until=until, captured_at=ASKED)
    deadline = time.monotonic() + wait
    while True:
        row = MirroredScreen.objects.filter(session=name, seq__gt=0).exclude(captured_at=ASKED).first()
        if row is not None or time.monotonic() >= deadline:
            return row
        time.sleep(LOOK_EVERY)


def plain(text: str) -> str:
    """A stored screen without its colours: the text it shows."""
    return ESCAPES.sub("", text)


def record(screens: Mapping[str, tuple[str, str, float]]) -> None:
    """Store new screens, {session: (pane id, ANSI text, time.time() of the capture)}: the worker's only write
    here, one transaction for a tick's screens, then the pages showing screens are woken. The caller passes the
    screens whose text changed since its last capture, and those asked for a fresh look; a text the table holds
    already (a worker that started again, a look at a screen that did not change) is not written again, and rings
    nobody: only a look's captured_at is."""
    if not screens:
        return
    with transaction.atomic():
        stored = 0
        for name, (pane_id, text, captured_at) in screens.items():
            updated = (
                MirroredScreen.objects.filter(session=name)
                .exclude(text=text, seq__gt=0)
                .update(pane_id=pane_id, text=text, captured_at=captured_at, seq=F("seq") + 1)
            )
            if not updated and not MirroredScreen.objects.filter(session=name).exists():
                MirroredScreen.objects.create(session=name, pane_id=pane_id, text=text, captured_at=captured_at, seq=1)
                updated = 1
            if not updated:
                MirroredScreen.objects.filter(session=name, captured_at=ASKED).update(captured_at=captured_at)
            stored += updated
        if stored:
            if connection.vendor == "postgresql":
                with connection.cursor() as cursor:  # delivered at commit, to the followers of every host
                    cursor.execute("SELECT pg_notify(%s, '')", [screen_news.CHANNEL])
            transaction.on_commit(screen_news.announce)
