"""The worker process: runs the background jobs that apps register (tmux polling, document watching, dispatch).

Jobs are named in settings.CHORUS_WORKER_JOBS as dotted paths of classes with an `interval` (seconds), `start()`,
`tick()` and `stop()`. One job's failure is logged and retried on its next tick; it never stops the others.
Ticks keep their cadence: a job is due `interval` after its last tick was due, not after it ended (one that fell
behind is due at once, and again `interval` later). A job with `own_thread = True` (the session monitor, whose
cadence is the status detection's latency) ticks on a thread of its own, so a slow round of another job (git for
change attribution, a large transcript) never delays it.
"""

from __future__ import annotations

import logging
import signal
import threading
import time

from django.conf import settings
from django.db import close_old_connections, connection
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
            alone = [job for job in self.jobs if getattr(job, "own_thread", False)]
            threads = [
                threading.Thread(target=self._loop, args=([job],), name=type(job).__name__, daemon=True)
                for job in alone
            ]
            for thread in threads:
                thread.start()
            self._loop([job for job in self.jobs if job not in alone])
            for thread in threads:
                thread.join()
            for job in self.jobs:
                job.stop()
        log.info("worker stopped")

    def _loop(self, jobs: list) -> None:
        """Tick `jobs` when they are due until the worker stops."""
        try:
            with event_context(actor="worker", source="worker"):
                due = {id(job): 0.0 for job in jobs}
                while not self.stopping.is_set():
                    for job in jobs:
                        if time.monotonic() >= due[id(job)]:
                            self._tick(job)
                            due[id(job)] = max(due[id(job)] + job.interval, time.monotonic())
                    wait = min(due.values(), default=time.monotonic() + 1.0) - time.monotonic()
                    self.stopping.wait(max(0.0, min(wait, 1.0)))
        finally:
            if threading.current_thread() is not threading.main_thread():
                connection.close()

    def _tick(self, job) -> None:
        close_old_connections()
        try:
            job.tick()
        except Exception:
            log.exception("job %s failed; it runs again on its next tick", type(job).__name__)
