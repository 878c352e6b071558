"""The worker's task job: follow every assigned task's session, then dispatch ready tasks to free sessions.

Level-triggered: each tick decides from the read models as they are (session status and history, the outbox, the
slots), never from remembered state, so a restarted worker carries on where the last one stopped.
"""

from __future__ import annotations

import logging

from django.conf import settings

from tasks_app import services

log = logging.getLogger("chorus.worker.tasks")


class TaskDispatcher:
    def __init__(self) -> None:
        self.interval = settings.CHORUS_TASK_INTERVAL
        # What was last said about a task passed over, so a task that cannot go is reported once, not every tick.
        self._reported: dict[int, str] = {}

    def start(self) -> None:
        """Nothing to recover: the first tick reads the read models like every other."""

    def stop(self) -> None:
        """Nothing runs between ticks."""

    def tick(self) -> None:
        for task in services.tasks_follow():
            log.info("task %s is %s (%s)", task.id, task.status, task.session)
        dispatched = services.dispatch_round()
        for task in dispatched.assigned:
            log.info("task %s dispatched to %s", task.id, task.session)
            self._reported.pop(task.id, None)
        for task_id, reason in dispatched.skipped:
            if self._reported.get(task_id) != reason:
                log.warning("task %s was not dispatched: %s", task_id, reason)
                self._reported[task_id] = reason
