"""Detection latency per transition (busy, waiting, idle) of one fake-agent session, from its screen alone and with
its self-report (a Claude-Code-like session file), in a private tmux server.

Run: .venv/bin/python bench/detection.py [--rounds 10]

Each round types a prompt that makes the fake agent work, open a permission dialog, and work again after it is
answered: idle -> busy -> waiting -> busy -> idle. The agent logs when each state began (the frame it draws next);
the latency of a transition is from there to the SessionStatusChanged committed by Chorus's monitor, ticking at its
default cadence in a thread. Beside it, measured in the same run, the floor: a bare poller at the same interval
that reads the agent's own log and so learns each change as soon as a poll at that cadence can.
Targets (issue 14): busy and waiting p95 <= 300 ms; idle p95 <= 300 ms with the self-report, <= 1 s from the screen.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import threading
import time
from pathlib import Path

from fake_agents import FAKE_AGENT, setup

WORK = setup("detection")

from django.conf import settings  # noqa: E402
from django.core.management import call_command  # noqa: E402

from sessions_app import services  # noqa: E402
from sessions_app.models import Session, StatusChange  # noqa: E402
from sessions_app.tmux import end_process_tree, process_tree  # noqa: E402
from sessions_app.worker import SessionMonitor  # noqa: E402

TRANSITIONS = ("busy", "waiting", "idle")
PROMPT = "ask:true work:0.8 go"


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))] if ordered else float("nan")


def agent_log(name: str) -> Path:
    return WORK / f"{name}.jsonl"


def write_profiles() -> None:
    """`screen`: the fake agent with Claude Code's screen rules; `selfreport`: the same, keeping a session file."""
    toml = ""
    for name, extra in (("screen", []), ("selfreport", ["--sessions-dir", str(WORK / "claude-sessions")])):
        command = [sys.executable, str(FAKE_AGENT), "--log", str(agent_log(name)), "--ask-delay", "0.6", *extra]
        toml += f'[profiles.{name}]\nextends = "claude"\ncommand = {json.dumps(command)}\nprocess_names = ["python*"]\n'
    (WORK / "project" / "chorus.toml").write_text(toml)


def began(name: str) -> list[tuple[float, str]]:
    """When the agent's states began, as it logged them: (wall time, status)."""
    path = agent_log(name)
    if not path.exists():
        return []
    entries = [json.loads(line) for line in path.read_text().splitlines()]
    return [(entry["t"], entry["status"]) for entry in entries if entry.get("event") == "status"]


def wait(condition, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise SystemExit("timed out; the machine may be too loaded")
        time.sleep(0.02)


def floor_poller(name: str, seen: list[tuple[float, str]], stop: threading.Event) -> None:
    """The soonest a poller at the worker's cadence can know: it reads the agent's own log each interval."""
    known = 0
    while not stop.is_set():
        entries = began(name)
        seen.extend((time.time(), status) for _t, status in entries[known:])
        known = len(entries)
        time.sleep(settings.CHORUS_POLL_INTERVAL)


def latencies(began_at: list[tuple[float, str]], seen: list[tuple[float, str]]) -> dict[str, list[float]]:
    """For each state the agent entered, ms until the first report of that state at or after it began."""
    found: dict[str, list[float]] = {status: [] for status in TRANSITIONS}
    for at, status in began_at:
        later = [when for when, said in seen if said == status and when >= at]
        if status in found and later:
            found[status].append((min(later) - at) * 1000)
    return found


def measure(name: str, rounds: int) -> tuple[dict[str, list[float]], dict[str, list[float]]]:
    session = services.session_create(name, name)
    monitor, stop = SessionMonitor(), threading.Event()
    floor: list[tuple[float, str]] = []

    def tick() -> None:
        while not stop.is_set():
            started = time.perf_counter()
            monitor.tick()
            time.sleep(max(0.0, settings.CHORUS_POLL_INTERVAL - (time.perf_counter() - started)))

    def status() -> str:
        return Session.objects.get(pk=name).status

    threads = [threading.Thread(target=tick), threading.Thread(target=floor_poller, args=(name, floor, stop))]
    for thread in threads:
        thread.start()
    tmux = services.tmux()
    try:
        wait(lambda: status() == "idle")
        start = time.time()
        for _ in range(rounds):
            tmux.send_text(session.pane_id, PROMPT)
            tmux.send_keys(session.pane_id, "Enter")
            wait(lambda: status() == "waiting")
            tmux.send_keys(session.pane_id, "1")
            wait(lambda: status() == "idle" and began(name)[-1][1] == "idle")
            time.sleep(0.3)
    finally:
        stop.set()
        for thread in threads:
            thread.join()
        services.session_kill(name)
    began_at = [(at, said) for at, said in began(name) if at >= start]
    reported = [(change.at.timestamp(), change.to_status) for change in StatusChange.objects.filter(session=name)]
    return latencies(began_at, reported), latencies(began_at, floor)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=10, help="prompts per mode (each: busy, waiting, busy, idle)")
    args = parser.parse_args()
    if shutil.which("tmux") is None:
        raise SystemExit("tmux is not installed (apt-get install tmux)")
    call_command("migrate", verbosity=0)
    print(f"poll interval {settings.CHORUS_POLL_INTERVAL * 1000:.0f} ms; {args.rounds} rounds per mode")
    print(f"{'':30}{'p50 ms':>10}{'p95 ms':>10}{'floor p50':>11}{'floor p95':>11}{'n':>5}")
    write_profiles()
    try:
        for name, label in (("screen", "screen alone"), ("selfreport", "session file")):
            found, floor = measure(name, args.rounds)
            for status in TRANSITIONS:
                values, base = found[status], floor[status]
                print(
                    f"{label + ': ' + status:30}{percentile(values, 0.5):10.0f}{percentile(values, 0.95):10.0f}"
                    f"{percentile(base, 0.5):11.0f}{percentile(base, 0.95):11.0f}{len(values):5d}"
                )
    finally:
        tmux = services.tmux()
        processes = [p for pane in tmux.list_panes() for p in process_tree(pane.pid)]
        tmux.kill_server()
        end_process_tree(processes, timeout=2.0)
        shutil.rmtree(WORK, ignore_errors=True)


if __name__ == "__main__":
    main()
