"""The worker's task jobs: the reactions of tasks that are a matter of time rather than of an event.

The quiet period: a prompt delivered to an agent never seen busy (too quick, or seen by no worker), whose session
has been idle ever since for CHORUS_TASK_QUIET_SECONDS, sends its task to review. Everything else a task does with
its session, and dispatch, are policies (tasks_app.policies).

The change watch: every CHORUS_ATTRIBUTION_INTERVAL seconds, while a task is in progress, the files its agent
changed (tasks_app.services.changes_watch, which runs git only when something could have changed).

The usage meter: every CHORUS_USAGE_INTERVAL it reads the new bytes of each live session's records (its profile's
usage reader says which files) from where it last stopped, and records what they held: one UsageRecorded per
session and look that found a turn (tasks_app.services.usage).

The dialog approvals: every CHORUS_TASK_INTERVAL seconds, the permission dialog of each waiting session whose agent
has no permission hook (Codex, Gemini: Profile.permission_screen) is read off its screen once per wait and
answered by the approval policy (tasks_app.services.approval_answer_on_screen).
"""

from __future__ import annotations

import logging
import time
from pathlib import Path

from django.conf import settings

from sessions_app import selectors as session_selectors
from sessions_app import services as session_services
from sessions_app.errors import SessionError
from sessions_app.prices import PriceBook, prices_file
from sessions_app.tmux import TmuxError
from sessions_app.usage import Cursor, Read, SessionRef, UsageReader, read_new
from tasks_app import selectors, services

log = logging.getLogger("chorus.worker.tasks")


class QuietPeriod:
    def __init__(self) -> None:
        self.interval = settings.CHORUS_TASK_INTERVAL

    def start(self) -> None:
        """Nothing to recover: each tick reads the read models as they are."""

    def stop(self) -> None:
        """Nothing runs between ticks."""

    def tick(self) -> None:
        for task in services.tasks_review_quiet():
            log.info("task %s is %s (%s was quiet after its prompt)", task.id, task.status, task.session)


class ChangeWatch:
    def __init__(self) -> None:
        self.interval = settings.CHORUS_ATTRIBUTION_INTERVAL
        self.watch = services.Watch()

    def start(self) -> None:
        """A new watch: the tasks' start snapshots are its baseline (see changes_watch)."""
        self.watch.blobs.close()
        self.watch = services.Watch()

    def stop(self) -> None:
        """The watch's cat-file, kept open between ticks, ends."""
        self.watch.blobs.close()

    def tick(self) -> None:
        for change in services.changes_watch(self.watch):
            log.debug("%s change seen: %s", change.source, ", ".join(f["path"] for f in change.files))


# A live session's files are looked for again this often (a new conversation starts a new transcript).
DISCOVER_SECONDS = 30.0


class UsageMeter:
    def __init__(self, clock=time.monotonic) -> None:
        self.interval = settings.CHORUS_USAGE_INTERVAL
        self.clock = clock
        self.prices = PriceBook(
            Path(settings.CHORUS_PRICES) if settings.CHORUS_PRICES else prices_file(settings.DATA_DIR)
        )
        # path -> (session, reader, cursor): every file counted so far, each for one session only.
        self.files: dict[str, tuple[str, UsageReader, Cursor]] = {}
        self.looked: dict[str, float] = {}  # when each live session's files were last looked for
        self.discover_seconds = DISCOVER_SECONDS
        self.bad_lines = 0

    def start(self) -> None:
        """Read on from the cursors recorded: nothing counted before a restart is counted again."""
        self.files.clear()
        self.looked.clear()

    def stop(self) -> None:
        """Nothing runs between ticks."""

    def _reader(self, profile_name: str) -> UsageReader | None:
        try:
            return session_selectors.profile(profile_name).usage_reader
        except SessionError:
            return None

    def _follow(self, session, reader: UsageReader, now: float) -> None:
        if session.name not in self.looked:
            # first seen by this worker: read on from its recorded cursors
            for row in selectors.usage_cursors(session.name):
                self.files[row.path] = (session.name, reader, Cursor(row.path, row.inode, row.offset, row.memo))
        elif now - self.looked[session.name] < self.discover_seconds:
            return
        self.looked[session.name] = now
        ref = SessionRef(session.name, session.cwd, session.pane_id, session.pid, session.created_at.timestamp())
        profile = session_selectors.profile(session.profile)
        for path in map(str, reader.files(ref, profile.agent_environment())):
            if path not in self.files:
                # a conversation resumed in another session, or a stale record naming a reused pane: read on from
                # where it was counted, whichever session counted it
                row = selectors.usage_cursor(path)
                cursor = Cursor(path, row.inode, row.offset, row.memo) if row else Cursor(path)
                self.files[path] = (session.name, reader, cursor)

    def tick(self) -> None:
        now = self.clock()
        live, readers = {}, {}
        for session in session_selectors.sessions_here():
            if session.profile not in readers:
                readers[session.profile] = self._reader(session.profile)
            reader = readers[session.profile]
            if reader is not None:
                live[session.name] = session
                self._follow(session, reader, now)
        reads: dict[str, list[Read]] = {}
        for path, (owner, reader, cursor) in list(self.files.items()):
            read = read_new(reader, cursor)
            if read.cursor is not None:
                self.files[path] = (owner, reader, read.cursor)
            if read.restarted:
                log.warning("usage: %s was %s; read on from offset %d", path, read.restarted, read.cursor.offset)
            reads.setdefault(owner, []).append(read)
            if owner not in live and not read.bytes_read:
                del self.files[path]  # an ended session's file, read to its end
        for owner, found in reads.items():
            bad = sum(read.bad_lines for read in found)
            if bad:
                self.bad_lines += bad
                log.warning(
                    "usage: %d line(s) of %s's records were not JSON and were skipped (%d so far)",
                    bad,
                    owner,
                    self.bad_lines,
                )
        services.usage_record_sessions(reads, self.prices.current())


class DialogApprovals:
    def __init__(self) -> None:
        self.interval = settings.CHORUS_TASK_INTERVAL
        # (session, when its wait began) already answered or left to the person: each wait is decided once
        self.seen: set[tuple[str, object]] = set()

    def start(self) -> None:
        """A new worker decides each wait again: an ask is recorded again, an answered dialog has gone."""
        self.seen.clear()

    def stop(self) -> None:
        """Nothing runs between ticks."""

    def tick(self) -> None:
        waiting = list(session_selectors.sessions_here().filter(status="waiting"))
        self.seen &= {(s.name, s.status_since) for s in waiting}
        for current in waiting:
            wait = (current.name, current.status_since)
            if wait in self.seen:
                continue
            self.seen.add(wait)  # a profile without permission_screen is looked up once per wait too
            if not _reads_dialogs(current.profile):
                continue
            try:
                screen = session_services.tmux().capture(current.pane_id).text
            except TmuxError:
                continue
            decision = services.approval_answer_on_screen(current.name, screen)
            if decision is not None:
                log.info("%s's dialog: %s by %s", current.name, decision.decision, decision.rule)


def _reads_dialogs(profile: str) -> bool:
    try:
        return session_selectors.profile(profile).permission_screen is not None
    except SessionError:  # a profile that no longer loads: its dialogs are the person's
        return False
