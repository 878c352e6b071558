"""The worker process: runs the background jobs that apps register (tmux polling, document watching, dispatch).

Jobs are named in settings.CHORUS_WORKER_JOBS as dotted paths of classes with an `interval` (seconds), `start()`,
`tick()` and `stop()`. One job's failure is logged and retried on its next tick; it never stops the others.
"""

from __future__ import annotations

import logging
import signal
import threading
import time

from django.conf import settings
from django.db import close_old_connections
from django.utils.module_loading import import_string

from events_app import projection
from events_app.store import event_context

log = logging.getLogger("chorus.worker")


class Worker:
    def __init__(self, job_paths: list[str] | None = None):
        paths = settings.CHORUS_WORKER_JOBS if job_paths is None else job_paths
        self.jobs = [import_string(path)() for path in paths]
        self.stopping = threading.Event()

    def request_stop(self, *_args) -> None:
        self.stopping.set()

    def run(self) -> None:
        signal.signal(signal.SIGTERM, self.request_stop)
        signal.signal(signal.SIGINT, self.request_stop)
        with event_context(actor="worker", source="worker"):
            applied = projection.catch_up()
            if applied:
                log.info("projections caught up over %d events", applied)
            for job in self.jobs:
                job.start()
            log.info("worker running %d job(s): %s", len(self.jobs), ", ".join(type(j).__name__ for j in self.jobs))
            due = {id(job): 0.0 for job in self.jobs}
            while not self.stopping.is_set():
                now = time.monotonic()
                for job in self.jobs:
                    if now >= due[id(job)]:
                        self._tick(job)
                        due[id(job)] = time.monotonic() + job.interval
                wait = min(due.values(), default=now + 1.0) - time.monotonic()
                self.stopping.wait(max(0.0, min(wait, 1.0)))
            for job in self.jobs:
                job.stop()
        log.info("worker stopped")

    def _tick(self, job) -> None:
        close_old_connections()
        try:
            job.tick()
        except Exception:
            log.exception("job %s failed; it runs again on its next tick", type(job).__name__)
