"""How the event log grows: events and bytes per turn of fake agents doing turns through Chorus.

Run on demand (not a test): `.venv/bin/python bench/log_growth.py [--agents 5] [--seconds 60] [--work 3]`.
Each fake agent (tests/fakeagent, in a private tmux server) gets a prompt through Chorus (`session_send`: the
worker's monitor delivers it when the agent is idle), works `--work` seconds with its spinner redrawing, goes idle
and gets the next one. The monitor ticks at the worker's cadence the whole time. Printed: events per turn by type,
their stored text per event, and how many events a year of 50 agents doing `--turns-per-hour` turns every hour,
around the clock, would add (design.md 3.1 turns that into size, rebuild and verify time).
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import time
from collections import Counter

from fake_agents import FAKE_AGENT, setup, ticking

WORK = setup("growth")

from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402

from events_app import store  # noqa: E402
from sessions_app import services  # noqa: E402
from sessions_app.models import OutboxMessage, Session  # noqa: E402
from sessions_app.tmux import end_process_tree, process_tree  # noqa: E402
from sessions_app.worker import SessionMonitor  # noqa: E402

YEAR_HOURS = 365 * 24


def start(agents: int) -> list[str]:
    command = ["sh", "-c", f"exec {sys.executable} {FAKE_AGENT} --work-seconds 1"]
    (WORK / "project" / "chorus.toml").write_text(
        f'[profiles.fake]\nextends = "claude"\ncommand = {json.dumps(command)}\nprocess_names = ["python*"]\n'
    )
    names = [f"agent-{i:02d}" for i in range(agents)]
    for name in names:
        services.session_create(name, "fake")
    return names


def drive(names: list[str], seconds: float, work: float) -> int:
    """Prompt every idle agent with nothing queued, for `seconds`, while the monitor ticks; returns turns sent."""
    turns, deadline = 0, time.monotonic() + seconds
    with ticking(SessionMonitor()):
        while time.monotonic() < deadline:
            busy = OutboxMessage.objects.filter(state__in=["queued", "delivering"]).values_list("session", flat=True)
            pending = set(busy)
            for session in Session.objects.filter(name__in=names, status="idle"):
                if session.name not in pending:
                    services.session_send(session.name, f"work:{work} turn {turns}: change the parser, run the tests")
                    turns += 1
            time.sleep(0.2)
    return turns


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--agents", type=int, default=5)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--work", type=float, default=3.0, help="seconds each turn keeps an agent busy")
    parser.add_argument("--turns-per-hour", type=float, default=20.0, help="for the year's extrapolation")
    args = parser.parse_args()
    if shutil.which("tmux") is None:
        raise SystemExit("tmux is not installed (apt-get install tmux)")
    call_command("migrate", verbosity=0)
    tmux = services.tmux()
    try:
        names = start(args.agents)
        before = store.last_position()
        turns = drive(names, args.seconds, args.work)
    finally:
        panes = tmux.list_panes()
        processes = [p for pane in panes for p in process_tree(pane.pid)]
        tmux.kill_server()
        end_process_tree(processes, timeout=2)
    try:
        report(args, before, turns)
    finally:
        connection.close()
        shutil.rmtree(WORK, ignore_errors=True)


def report(args: argparse.Namespace, before: int, turns: int) -> None:
    events = list(store.read(after=before))
    kinds = Counter(e.event_type for e in events)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT AVG(LENGTH(data)), AVG(LENGTH(metadata)), AVG(LENGTH(CAST(data AS BLOB)) + "
            "LENGTH(CAST(metadata AS BLOB)) + LENGTH(hash) + LENGTH(stream_type) + LENGTH(stream_id) + "
            "LENGTH(event_type) + LENGTH(recorded_at)) FROM chorus_event WHERE position > %s",
            [before],
        )
        data, metadata, text = cursor.fetchone()
    per_turn = len(events) / max(turns, 1)
    print(f"{args.agents} fake agents, {args.seconds:.0f} s, turns of {args.work:.0f} s: {turns} turns sent")
    print(f"{len(events)} events after the sessions started: {per_turn:.1f} per turn\n")
    print(f"{'event type':<32}{'events':>8}{'per turn':>10}")
    for kind, count in kinds.most_common():
        print(f"{kind:<32}{count:>8}{count / max(turns, 1):>10.2f}")
    print(f"\nstored text per event: {text:.0f} bytes (data {data:.0f}, metadata {metadata:.0f})")
    per_year = per_turn * args.turns_per_hour * 50 * YEAR_HOURS
    print(
        f"a year of 50 agents at {args.turns_per_hour:.0f} turns an hour, around the clock: "
        f"{per_year / 1e6:.1f} M events ({per_turn * args.turns_per_hour:.0f} per agent-hour)"
    )


if __name__ == "__main__":
    main()
