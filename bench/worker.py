"""The worker's session poll at N = 1, 10, 50 (or --sizes ... 100 200) fake-agent sessions in a private tmux server.

Run: .venv/bin/python bench/worker.py [--sizes 1 10 50 100 200] [--seconds 8] [--no-latency]

For each N it prints, as medians:
- tick time of Chorus's monitor (one request through its control client: every pane listed, the panes that may
  have changed captured), with every agent idle and with every agent busy (spinners redrawing), beside its floor
  measured in the same phase: one bare `tmux list-panes -a` process with Chorus's format, the least any tick can
  cost; and tmux's share of the tick: the same request sent through a control client of its own, unparsed (what
  capturing every changing screen costs the tmux server, which no tick that reads those screens can avoid);
- the worker's CPU per second of wall time at its default cadence (its own and its tmux client processes');
- detection latency: the fake agent takes a prompt (its log's timestamp) -> SessionStatusChanged committed;
and beside it, in the same run, the baseline claude-squad uses: one `tmux capture-pane` process per pane every
500 ms, classified by the same detector.
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import secrets
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

from fake_agents import FAKE_AGENT, setup, ticking

WORK = setup("worker")

from django.conf import settings  # noqa: E402
from django.core.management import call_command  # noqa: E402

from events_app import store  # noqa: E402
from sessions_app import services  # noqa: E402
from sessions_app.catalog import get_profile  # noqa: E402
from sessions_app.detection import Observation, detect  # noqa: E402
from sessions_app.models import Session  # noqa: E402
from sessions_app.tmux import (  # noqa: E402
    ControlClient,
    Tmux,
    control_end,
    control_poll_lines,
    end_process_tree,
    pane_format,
    process_tree,
)
from sessions_app.worker import SessionMonitor  # noqa: E402


def cpu_seconds() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))] if ordered else float("nan")


def write_profile(work_seconds: float, self_report: bool) -> None:
    # one log per agent, named after the session (Chorus exports CHORUS_SESSION into the pane)
    agent = f"exec {sys.executable} {FAKE_AGENT} --work-seconds {work_seconds} --log {WORK}/$CHORUS_SESSION.jsonl"
    if self_report:
        agent += f" --sessions-dir {WORK}/claude-sessions"
    command = ["sh", "-c", agent]
    (WORK / "project" / "chorus.toml").write_text(
        f'[profiles.fake]\nextends = "claude"\ncommand = {json.dumps(command)}\nprocess_names = ["python*"]\n'
    )


def start_sessions(count: int, work_seconds: float, self_report: bool) -> list[Session]:
    write_profile(work_seconds, self_report)
    names = [f"agent-{i:02d}" for i in range(count)]
    for name in names:
        services.session_create(name, "fake")
    return list(Session.objects.filter(name__in=names))


def wait_all(monitor: SessionMonitor, status: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        monitor.tick()
        if not Session.objects.filter(lifecycle="live").exclude(status=status).exists():
            return
        time.sleep(settings.CHORUS_POLL_INTERVAL)
    raise SystemExit(f"sessions did not all become {status}")


def list_panes_floor(tmux: Tmux) -> float:
    """ms of one bare `tmux list-panes -a` with the worker's format: a process and the server's answer, no parsing."""
    command = ["tmux", "-u", "-S", str(tmux.socket), "list-panes", "-a", "-F", pane_format(secrets.token_hex(8))]
    started = time.perf_counter()
    subprocess.run(command, capture_output=True, check=True)
    return (time.perf_counter() - started) * 1000


def tmux_share(client: ControlClient, monitor: SessionMonitor, since: float) -> float:
    """ms of the request the last tick made (list every pane, capture those it captured after `since`, a
    time.time()), sent through a control client of the bench's own and left unparsed: tmux's part of the tick."""
    captured = [pane_id for pane_id, screen in monitor.screens.items() if screen.taken_at >= since]
    token = secrets.token_hex(8)
    started = time.perf_counter()
    client.ask(control_poll_lines(token, captured), f"\n{control_end(token)}\n".encode())
    return (time.perf_counter() - started) * 1000


def measure_ticks(monitor: SessionMonitor, seconds: float) -> tuple[list[float], float, list[float], list[float]]:
    """Tick at the default cadence for `seconds`; return tick durations (ms), CPU per wall second, the list-panes
    floor (ms) sampled between the ticks, under the same load, and tmux's share of each tick (ms)."""
    durations, floor, share = [], [], []
    client = ControlClient(monitor.tmux)
    client.attach(monitor.tmux.list_panes())
    cpu_start, wall_start = cpu_seconds(), time.monotonic()
    while time.monotonic() - wall_start < seconds:
        since = time.time()
        started = time.perf_counter()
        monitor.tick()
        durations.append((time.perf_counter() - started) * 1000)
        floor.append(list_panes_floor(monitor.tmux))
        share.append(tmux_share(client, monitor, since))
        time.sleep(max(0.0, settings.CHORUS_POLL_INTERVAL - (time.perf_counter() - started)))
    client.close()
    return durations, (cpu_seconds() - cpu_start) / (time.monotonic() - wall_start), floor, share


def baseline_round(tmux: Tmux, panes: list[str], profile) -> tuple[float, dict[str, str]]:
    """claude-squad's way: one capture-pane process per pane."""
    started = time.perf_counter()
    statuses = {}
    for pane in panes:
        text = subprocess.run(
            ["tmux", "-S", str(tmux.socket), "capture-pane", "-p", "-t", pane], capture_output=True, text=True
        ).stdout
        statuses[pane] = detect(profile, Observation(screen=text)).status.value
    return (time.perf_counter() - started) * 1000, statuses


def measure_baseline(tmux: Tmux, panes: list[str], profile, seconds: float) -> tuple[list[float], float]:
    durations = []
    cpu_start, wall_start = cpu_seconds(), time.monotonic()
    while time.monotonic() - wall_start < seconds:
        started = time.perf_counter()
        durations.append(baseline_round(tmux, panes, profile)[0])
        time.sleep(max(0.0, 0.5 - (time.perf_counter() - started)))
    return durations, (cpu_seconds() - cpu_start) / (time.monotonic() - wall_start)


def prompt_times(name: str) -> list[float]:
    path = WORK / f"{name}.jsonl"
    if not path.exists():
        return []
    return [e["t"] for e in map(json.loads, path.read_text().splitlines()) if e.get("event") == "prompt"]


def prompt_all(tmux: Tmux, sessions: list[Session]) -> None:
    """Type a short job straight into every agent through tmux, bypassing Chorus."""
    for session in sessions:
        tmux.send_text(session.pane_id, "work:0.5 go")
        tmux.send_keys(session.pane_id, "Enter")


def latencies(sessions: list[Session], seen: dict[str, float]) -> list[float]:
    """ms from each agent's last logged prompt to when busy was seen for it (by session name)."""
    found = []
    for session in sessions:
        typed = prompt_times(session.name)
        if session.name in seen and typed:
            found.append((seen[session.name] - typed[-1]) * 1000)
    return found


def detection_latency(monitor: SessionMonitor, tmux: Tmux, sessions: list[Session], rounds: int) -> list[float]:
    """Prompt typed straight into each agent through tmux -> its busy transition committed (ms)."""
    measured = []
    with ticking(monitor):
        for _ in range(rounds):
            after = store.last_position()
            prompt_all(tmux, sessions)
            deadline = time.monotonic() + 15
            seen: dict[str, float] = {}
            while len(seen) < len(sessions) and time.monotonic() < deadline:
                for item in store.read(after=after, event_types=["SessionStatusChanged"]):
                    after = item.position
                    if item.event.to_status == "busy":
                        seen.setdefault(item.stream_id, item.recorded_at.timestamp())
                time.sleep(0.02)
            measured += latencies(sessions, seen)
            time.sleep(2.5)
    return measured


def baseline_latency(tmux: Tmux, sessions: list[Session], profile, rounds: int) -> list[float]:
    measured = []
    names = {s.pane_id: s.name for s in sessions}
    for _ in range(rounds):
        prompt_all(tmux, sessions)
        # the prompts land at a random point of the baseline's 500 ms cycle, as they do for Chorus's poll
        time.sleep(random.uniform(0, 0.5))
        seen: dict[str, float] = {}
        deadline = time.monotonic() + 15
        while len(seen) < len(names) and time.monotonic() < deadline:
            started = time.perf_counter()
            _ms, statuses = baseline_round(tmux, list(names), profile)
            now = time.time()
            for pane, status in statuses.items():
                if status == "busy":
                    seen.setdefault(names[pane], now)
            time.sleep(max(0.0, 0.5 - (time.perf_counter() - started)))
        measured += latencies(sessions, seen)
        time.sleep(2.5)
    return measured


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1, 10, 50])
    parser.add_argument("--seconds", type=float, default=8.0, help="measuring time per phase")
    parser.add_argument("--rounds", type=int, default=4, help="latency rounds per size")
    parser.add_argument("--self-report", action="store_true", help="agents keep a Claude Code session file")
    parser.add_argument("--no-latency", action="store_true", help="skip the detection latency phases (large N)")
    args = parser.parse_args()
    if shutil.which("tmux") is None:
        raise SystemExit("tmux is not installed (apt-get install tmux)")
    call_command("migrate", verbosity=0)
    tmux = services.tmux()
    profile = get_profile("claude", Path(settings.PROJECT_ROOT))
    print(f"poll interval {settings.CHORUS_POLL_INTERVAL * 1000:.0f} ms; baseline: capture-pane per pane every 500 ms")
    print(
        "status from: "
        + ("the agents' session files (Claude Code)" if args.self_report else "screens and pane metadata")
    )
    rows = []
    try:
        for size in args.sizes:
            for session in Session.objects.filter(lifecycle="live"):
                services.session_kill(session.name)
            sessions = start_sessions(size, work_seconds=1000, self_report=args.self_report)
            monitor = SessionMonitor()
            wait_all(monitor, "idle")
            idle_ticks, idle_cpu, idle_floor, idle_share = measure_ticks(monitor, args.seconds)
            base_idle, base_idle_cpu = measure_baseline(tmux, [s.pane_id for s in sessions], profile, args.seconds)
            for session in sessions:
                tmux.send_text(session.pane_id, "stay busy")
                tmux.send_keys(session.pane_id, "Enter")
            wait_all(monitor, "busy")
            busy_ticks, busy_cpu, busy_floor, busy_share = measure_ticks(monitor, args.seconds)
            base_busy, base_busy_cpu = measure_baseline(tmux, [s.pane_id for s in sessions], profile, args.seconds)
            latency, base_latency = [], []
            if not args.no_latency:
                for session in Session.objects.filter(lifecycle="live"):
                    services.session_kill(session.name)
                sessions = start_sessions(size, work_seconds=0.5, self_report=args.self_report)
                monitor = SessionMonitor()
                wait_all(monitor, "idle")
                latency = detection_latency(monitor, tmux, sessions, args.rounds)
                base_latency = baseline_latency(tmux, sessions, profile, args.rounds)
            rows.append(
                (
                    size,
                    idle_ticks,
                    idle_floor,
                    idle_share,
                    idle_cpu,
                    base_idle,
                    base_idle_cpu,
                    busy_ticks,
                    busy_floor,
                    busy_share,
                    busy_cpu,
                    base_busy,
                    base_busy_cpu,
                    latency,
                    base_latency,
                )
            )
    finally:
        panes = tmux.list_panes()
        processes = [p for pane in panes for p in process_tree(pane.pid)]
        tmux.kill_server()
        end_process_tree(processes, timeout=2)
    for (
        size,
        idle_ticks,
        idle_floor,
        idle_share,
        idle_cpu,
        base_idle,
        base_idle_cpu,
        busy_ticks,
        busy_floor,
        busy_share,
        busy_cpu,
        base_busy,
        base_busy_cpu,
        latency,
        base_latency,
    ) in rows:
        print(f"\nN = {size} sessions")
        print(f"  {'':34}{'chorus':>12}{'floor':>12}{'ratio':>8}")
        print(f"  {'floor, all idle (median ms)':34}{'':12}{statistics.median(idle_floor):12.2f}")
        print(f"  {'floor, all busy (median ms)':34}{'':12}{statistics.median(busy_floor):12.2f}")
        for label, ours, floor in (
            ("tick vs list-panes, all idle", statistics.median(idle_ticks), statistics.median(idle_floor)),
            ("tick vs list-panes, all busy", statistics.median(busy_ticks), statistics.median(busy_floor)),
            ("  tmux's share, all idle", statistics.median(idle_share), statistics.median(idle_floor)),
            ("  tmux's share, all busy", statistics.median(busy_share), statistics.median(busy_floor)),
        ):
            print(f"  {label:34}{ours:12.2f}{floor:12.2f}{ours / floor:7.1f}x")
        print(f"  {'':34}{'chorus':>12}{'baseline':>12}{'ratio':>8}")
        for label, ours, theirs in (
            ("tick, all idle (median ms)", statistics.median(idle_ticks), statistics.median(base_idle)),
            ("tick, all busy (median ms)", statistics.median(busy_ticks), statistics.median(base_busy)),
        ):
            print(f"  {label:34}{ours:12.2f}{theirs:12.2f}{theirs / ours:7.1f}x")
        for label, ours, theirs in (
            ("CPU, all idle (% of a core)", idle_cpu * 100, base_idle_cpu * 100),
            ("CPU, all busy (% of a core)", busy_cpu * 100, base_busy_cpu * 100),
        ):
            print(f"  {label:34}{ours:12.1f}{theirs:12.1f}{theirs / max(ours, 1e-9):7.1f}x")
        if latency:
            p50, base_p50 = percentile(latency, 0.5), percentile(base_latency, 0.5)
            p95, base_p95 = percentile(latency, 0.95), percentile(base_latency, 0.95)
            print(f"  {'detection p50 (ms)':34}{p50:12.0f}{base_p50:12.0f}")
            print(f"  {'detection p95 (ms)':34}{p95:12.0f}{base_p95:12.0f}")
        print(f"  samples: {len(idle_ticks)}+{len(busy_ticks)} ticks, {len(latency)} detections")
    shutil.rmtree(WORK, ignore_errors=True)


if __name__ == "__main__":
    main()
