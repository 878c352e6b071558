"""The worker's task jobs: the reactions of tasks that are a matter of time rather than of an event.

The quiet period: a prompt delivered to an agent never seen busy (too quick, or seen by no worker), whose session
has been idle ever since for CHORUS_TASK_QUIET_SECONDS, sends its task to review. Everything else a task does with
its session, and dispatch, are policies (tasks_app.policies).

The change watch: every CHORUS_ATTRIBUTION_INTERVAL seconds, while a task is in progress, the files its agent
changed (tasks_app.services.changes_watch, which runs git only when something could have changed).
"""

from __future__ import annotations

import logging

from django.conf import settings

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
