"""The worker's task jobs: the reactions of tasks that are a matter of time rather than of an event.

The quiet period: a prompt delivered to an agent never seen busy (too quick, or seen by no worker), whose session
has been idle ever since for CHORUS_TASK_QUIET_SECONDS, sends its task to review. Everything else a task does with
its session, and dispatch, are policies (tasks_app.policies).

The dialog approvals: every CHORUS_TASK_INTERVAL seconds, the permission dialog of each waiting session whose agent
has no permission hook (Codex, Gemini: Profile.permission_screen) is read off its screen once per wait and
answered by the approval policy (tasks_app.services.approval_answer_on_screen).

The change watch: every CHORUS_ATTRIBUTION_INTERVAL seconds, while a task is in progress, the files its agent
changed (tasks_app.services.changes_watch, which runs git only when something could have changed).
"""

from __future__ import annotations

import logging

from django.conf import settings

from sessions_app import selectors as session_selectors
from sessions_app import services as session_services
from sessions_app.errors import SessionError
from sessions_app.tmux import TmuxError
from tasks_app import services

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
        waiting = list(session_selectors.sessions(include_ended=False).filter(status="waiting"))
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
