"""What `manage.py start` runs: its child processes (the web server, the worker), each restarted when it dies.

A child that exits is started again after a back-off (1 s, then 2, 4, 8, 16, 30 s while it keeps dying within a
minute of starting; back to 1 s once it has run a minute), and each exit and restart is written to the log: a
killed worker never takes the web server down with it. A child that dies within a minute of starting
GIVE_UP_AFTER times in a row is broken, not unlucky (a bad setting, a port taken): the supervisor gives up and says
which child and how it last exited.
"""

from __future__ import annotations

import dataclasses
import signal
import subprocess
from collections.abc import Callable, Sequence

BACKOFF = (1.0, 2.0, 4.0, 8.0, 16.0, 30.0)
STABLE_AFTER = 60.0
GIVE_UP_AFTER = 8


def exit_meaning(code: int) -> str:
    """An exit status as a person reads it: `exited with 1`, `was killed by SIGKILL`."""
    if code < 0:
        try:
            return f"was killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"was killed by signal {-code}"
    return f"exited with {code}"


@dataclasses.dataclass
class Child:
    name: str
    argv: Sequence[str]
    env: dict[str, str] | None = None
    cwd: str | None = None
    process: subprocess.Popen | None = None
    started_at: float = 0.0
    quick_exits: int = 0  # exits in a row, each within STABLE_AFTER of its start
    restart_at: float | None = None
    last_exit: int | None = None


class GaveUp(Exception):
    """A child kept dying right after it started."""


class Supervisor:
    def __init__(
        self,
        children: Sequence[Child],
        *,
        log: Callable[[str], None],
        clock: Callable[[], float],
        spawn: Callable[..., subprocess.Popen] = subprocess.Popen,
    ):
        self.children = list(children)
        self.log = log
        self.clock = clock
        self.spawn = spawn

    def start(self) -> None:
        for child in self.children:
            self._spawn(child)

    def _spawn(self, child: Child) -> None:
        child.process = self.spawn(list(child.argv), env=child.env, cwd=child.cwd)
        child.started_at = self.clock()
        child.restart_at = None

    def check(self) -> None:
        """One look at every child: note the ones that exited, start again the ones whose back-off is over.
        Raises GaveUp when a child died right after starting GIVE_UP_AFTER times in a row."""
        now = self.clock()
        for child in self.children:
            if child.restart_at is not None:
                if now >= child.restart_at:
                    self.log(f"starting the {child.name} again")
                    self._spawn(child)
                continue
            code = child.process.poll()
            if code is None:
                continue
            child.last_exit = code
            child.quick_exits = child.quick_exits + 1 if now - child.started_at < STABLE_AFTER else 1
            if child.quick_exits >= GIVE_UP_AFTER:
                raise GaveUp(
                    f"the {child.name} stopped {child.quick_exits} times in a row within {STABLE_AFTER:.0f} s of "
                    f"starting (last: {exit_meaning(code)}); Chorus stopped"
                )
            delay = BACKOFF[min(child.quick_exits, len(BACKOFF)) - 1]
            child.restart_at = now + delay
            self.log(f"the {child.name} {exit_meaning(code)}; starting it again in {delay:.0f} s")

    def stop(self, timeout: float = 10.0) -> None:
        """SIGTERM to every running child, then SIGKILL to those still running after `timeout`."""
        running = [c.process for c in self.children if c.process is not None and c.process.poll() is None]
        for process in running:
            process.send_signal(signal.SIGTERM)
        for process in running:
            try:
                process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
