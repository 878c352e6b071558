"""Latency from an event committed by another process to its websocket message on a subscribed client.

Run: .venv/bin/python bench/live.py [--events 300] [--interval 0.02]
Baseline, in the same run: a bare sqlite3 process polling the event table at the same interval as the web
server's follower: the floor any "follow the table" design has. Chorus's overhead = its latency - the baseline.

Under load: .venv/bin/python bench/live.py --clients 200 --events 1500 --interval 0.02 (200 clients, 50 events/s for
30 s): every client's latency, the events lost silently (target 0: a client that falls behind must be told, by a
resync snapshot) and those announced by a resync; the baseline is the same run with one client.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# One client, events from another process (issue 16): the doorbell, not the poll, sets the pace.
SINGLE_TARGET_MS = 50
sys.path.insert(0, str(ROOT))

from tests import load  # noqa: E402
from tests.support import ServerProcess, free_port, live_events  # noqa: E402

POLLER = r"""
import sqlite3, sys, time
db = sqlite3.connect(sys.argv[1], isolation_level=None)
interval = float(sys.argv[2]); last = int(sys.argv[3]); wanted = int(sys.argv[4]); seen = 0
while seen < wanted:
    rows = db.execute(
        "SELECT position, version FROM chorus_event WHERE position > ? ORDER BY position", (last,)
    ).fetchall()
    now = time.time()
    for position, version in rows:
        print(version, now, flush=True); last = position; seen += 1
    time.sleep(interval)
"""


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=300)
    parser.add_argument("--interval", type=float, default=0.02, help="seconds between appends")
    parser.add_argument("--clients", type=int, default=1, help="websocket clients at once (the load test)")
    args = parser.parse_args()

    data = Path(tempfile.mkdtemp(prefix="chorus-bench-live-"))
    try:
        measure(args, data)
    finally:
        shutil.rmtree(data, ignore_errors=True)


def measure(args: argparse.Namespace, data: Path) -> None:
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tests.settings",
        "CHORUS_DATA_DIR": str(data),
        "PYTHONPATH": str(ROOT),
    }
    subprocess.run([sys.executable, str(ROOT / "manage.py"), "migrate", "-v0"], env=env, check=True)
    env["CHORUS_DATABASE"] = str(data / "chorus.sqlite3")
    follow_interval = float(env.get("CHORUS_FOLLOW_INTERVAL", "0.1"))
    server = ServerProcess(env, free_port(), (data / "token").read_text().strip())
    if args.clients > 1:
        try:
            under_load(server, env, args)
        finally:
            server.stop()
        return
    from websockets.sync.client import connect

    received: dict[int, float] = {}
    try:
        ws = connect(
            f"ws://127.0.0.1:{server.port}/ws/live/",
            origin=server.url,
            additional_headers={"Cookie": server.session_cookie()},
            legacy=True,
        )
        ws.send(json.dumps({"subscribe": ["counter"]}))
        start_position = json.loads(ws.recv(timeout=5))["position"]

        def listen() -> None:
            while len(received) < args.events + 1:
                message = json.loads(ws.recv(timeout=30))
                now = time.time()
                for event in live_events(message):
                    received[event["version"]] = now

        listener = threading.Thread(target=listen, daemon=True)
        listener.start()
        poller = subprocess.Popen(
            [
                sys.executable,
                "-c",
                POLLER,
                env["CHORUS_DATABASE"],
                str(follow_interval),
                str(start_position),
                str(args.events + 1),
            ],
            stdout=subprocess.PIPE,
            text=True,
        )
        appender = subprocess.run(
            [
                sys.executable,
                str(ROOT / "manage.py"),
                "demo_append",
                "bench",
                "--count",
                str(args.events),
                "--interval",
                str(args.interval),
            ],
            env=env,
            capture_output=True,
            text=True,
            check=True,
        )
        committed = {index + 2: float(line) for index, line in enumerate(appender.stdout.split())}
        baseline = {
            int(v): float(t) for v, t in (line.split() for line in poller.communicate(timeout=60)[0].splitlines())
        }
        listener.join(timeout=30)
        ws.close()
    finally:
        server.stop()

    chorus = [(received[v] - t) * 1000 for v, t in committed.items() if v in received]
    floor = [(baseline[v] - t) * 1000 for v, t in committed.items() if v in baseline]
    lost = len(committed) - len(chorus)
    print(f"events appended by another process: {len(committed)}, one every {args.interval * 1000:.0f} ms")
    print(f"follower poll interval: {follow_interval * 1000:.0f} ms")
    print(f"{'':28}{'p50 ms':>10}{'p95 ms':>10}{'max ms':>10}")
    for name, values in (("chorus websocket", chorus), ("baseline sqlite3 poller", floor)):
        print(f"{name:28}{statistics.median(values):10.1f}{percentile(values, 0.95):10.1f}{max(values):10.1f}")
    print(f"p95 ratio chorus/baseline: {percentile(chorus, 0.95) / percentile(floor, 0.95):.2f}")
    met = percentile(chorus, 0.95) <= SINGLE_TARGET_MS and not lost
    print(f"lost: {lost}; target: p95 <= {SINGLE_TARGET_MS} ms -> {'met' if met else 'MISSED'}")


def under_load(server: ServerProcess, env: dict, args: argparse.Namespace) -> None:
    alone = load.run(server, env, clients=1, events=min(args.events, 300), interval=args.interval)
    crowd = load.run(server, env, clients=args.clients, events=args.events, interval=args.interval)
    print(f"{args.events} events appended by another process, one every {args.interval * 1000:.0f} ms")
    print(f"{'':34}{'p50 ms':>10}{'p95 ms':>10}{'max ms':>10}{'silently lost':>15}{'announced':>11}")
    for name, result in ((f"{args.clients} clients", crowd), ("baseline: 1 client", alone)):
        values = result.latencies_ms()
        print(
            f"{name:34}{statistics.median(values):10.1f}{percentile(values, 0.95):10.1f}{max(values):10.1f}"
            f"{result.lost():15}{result.announced():11}"
        )
    errors = [e for c in crowd.clients for e in c.errors]
    if errors:
        print(f"client errors: {len(errors)}, first: {errors[0]}")
    met = not crowd.lost() and not errors and percentile(crowd.latencies_ms(), 0.95) <= 500
    print(f"target: 0 lost silently, p95 <= 500 ms -> {'met' if met else 'MISSED'}")


if __name__ == "__main__":
    main()
