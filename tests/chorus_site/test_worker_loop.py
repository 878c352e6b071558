"""The worker's loop (chorus_site.worker): a job of its own thread keeps its cadence while another job is slow."""

from __future__ import annotations

import signal
import threading
import time

import pytest

from chorus_site.worker import Worker


class SlowJob:
    """A job whose every round takes longer than a status may be late (git on a large checkout)."""

    interval = 0.05
    ticks: list[float] = []

    def start(self) -> None:
        type(self).ticks = []

    def tick(self) -> None:
        self.ticks.append(time.monotonic())
        time.sleep(0.6)

    def stop(self) -> None:
        pass


class MonitorJob(SlowJob):
    """A quick job that asks for a thread of its own, as the session monitor does."""

    own_thread = True
    ticks: list[float] = []
    thread_names: set[str] = set()

    def start(self) -> None:
        type(self).ticks = []
        type(self).thread_names = set()

    def tick(self) -> None:
        self.ticks.append(time.monotonic())
        self.thread_names.add(threading.current_thread().name)


@pytest.mark.django_db
def test_a_job_on_its_own_thread_keeps_its_cadence_while_another_job_is_slow(monkeypatch):
    monkeypatch.setattr(signal, "signal", lambda *_args: None)  # the test's process keeps its own handlers
    worker = Worker([f"{__name__}.SlowJob", f"{__name__}.MonitorJob"])
    stopper = threading.Timer(1.5, worker.request_stop)
    stopper.start()
    worker.run()
    stopper.join()

    assert len(SlowJob.ticks) <= 3
    gaps = [later - earlier for earlier, later in zip(MonitorJob.ticks, MonitorJob.ticks[1:], strict=False)]
    # Sharing the slow job's loop, the monitor would wait 0.6 s at every one of its rounds.
    assert len(MonitorJob.ticks) >= 10 and max(gaps) < 0.5
    assert MonitorJob.thread_names == {"MonitorJob"}
