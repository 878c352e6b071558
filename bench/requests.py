"""Start and kill round trips: a session's tmux called by the asking process itself (as before hosts: the
baseline), beside the same start and kill asked of the host's worker (a `run_worker` process) as requests, woken
by the doorbell, and woken by its poll alone (a host whose askers use another data directory).

Run: .venv/bin/python bench/requests.py [--rounds 15]

Prints, per way, the median and p90 of `session_create` (returns once the session is recorded) and of
`session_kill` (returns once it is killed), in milliseconds. The agent is a plain `sleep`: what is measured is
Chorus's path, not an agent's boot.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import signal
import statistics
import subprocess
import sys
import time

from fake_agents import ROOT, setup

WORK = setup("requests")

from django.conf import settings  # noqa: E402
from django.core.management import call_command  # noqa: E402

from sessions_app import selectors, services  # noqa: E402
from sessions_app.tmux import Tmux, TmuxError  # noqa: E402

PROFILE = '[profiles.nap]\nextends = "shell"\ncommand = ["sleep", "600"]\n'


def rounds(count: int, prefix: str) -> tuple[list[float], list[float]]:
    starts, kills = [], []
    for i in range(count):
        name = f"{prefix}{i}"
        began = time.perf_counter()
        services.session_create(name, "nap")
        starts.append((time.perf_counter() - began) * 1000)
        began = time.perf_counter()
        services.session_kill(name)
        kills.append((time.perf_counter() - began) * 1000)
        services.session_remove(name)
    return starts, kills


def worker(env: dict[str, str]) -> subprocess.Popen:
    process = subprocess.Popen(
        [sys.executable, str(ROOT / "manage.py"), "run_worker"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 30
    while not any(h.name == settings.CHORUS_HOST_NAME and h.online for h in selectors.hosts()):
        if time.monotonic() > deadline:
            raise SystemExit("the worker did not come up")
        time.sleep(0.1)
    time.sleep(1.0)  # its doorbell is listed by this process's next ring (events_app.live: LISTING_AGE)
    return process


def line(way: str, starts: list[float], kills: list[float]) -> str:
    def figures(values: list[float]) -> str:
        return f"{statistics.median(values):7.1f} / {statistics.quantiles(values, n=10)[-1]:7.1f}"

    return f"{way:<34} start {figures(starts)}   kill {figures(kills)}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=15)
    args = parser.parse_args()
    (WORK / "project" / "chorus.toml").write_text(PROFILE)
    call_command("migrate", verbosity=0)
    env = {
        **os.environ,
        "CHORUS_DATABASE": str(settings.DATABASES["default"]["NAME"]),
        "CHORUS_REQUESTS_INLINE": "0",
        "CHORUS_POLL_INTERVAL": "0.25",
    }
    print(f"{args.rounds} rounds each; median / p90 in ms")
    try:
        settings.CHORUS_REQUESTS_INLINE = True
        print(line("in the asking process (baseline)", *rounds(args.rounds, "a")))
        settings.CHORUS_REQUESTS_INLINE = False
        running = worker(env)
        try:
            print(line("asked of the worker (doorbell)", *rounds(args.rounds, "b")))
            for sock in (WORK / "data" / "live").glob(f"{running.pid}-*.sock"):
                sock.rename(sock.with_suffix(".asleep"))  # no ring finds it: its poll alone wakes it
            time.sleep(1.0)  # this process lists the doorbells again
            print(line("asked of the worker (poll only)", *rounds(args.rounds, "c")))
        finally:
            running.send_signal(signal.SIGTERM)
            running.wait(timeout=30)
    finally:
        with contextlib.suppress(TmuxError):
            Tmux(settings.CHORUS_TMUX_SOCKET).kill_server()
        shutil.rmtree(WORK, ignore_errors=True)


if __name__ == "__main__":
    main()
