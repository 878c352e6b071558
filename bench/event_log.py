"""The event log's filters at a million events: each one's page beside the unfiltered page, newest and oldest.

Run on demand (not a test): `.venv/bin/python bench/event_log.py [--events 1000000] [--runs 7]`.
The log is written through the recorder with the store's own encoding and hash chain (no projection: only reads
are measured), shaped like a busy year: one stream holding most events (a long-lived agent's), a few hundred
small session streams, a rare actor, a year of time. Each figure is the median time of one page of the event log
page's query (50 events, newest first, as /events/ reads it) and of the API's (100, oldest first). The floor is the
unfiltered page of the same run. Then the file's bytes per event, by table and index (SQLite's dbstat).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from event_store import setup_django

TARGET_MS = 20.0
SESSIONS = 300
START = datetime(2026, 1, 1, tzinfo=UTC)
STEP = timedelta(seconds=30)


def fill(total: int) -> dict[str, int]:
    """Write `total` events: 1 in 60 to a session stream (SessionStatusChanged, by its agent), 1 in 5,000 by
    alice, the rest to one counter stream by the worker; one every 30 s from START. Returns events per stream."""
    from django.db import connection

    from events_app import store
    from events_app.domain import canonical_json
    from sessions_app.events import SessionStatusChanged
    from tests.demo.events import CounterIncremented

    recorder = store.recorder()
    status = SessionStatusChanged(
        "idle",
        "busy",
        "rule claude.esc_to_interrupt matched 'esc to interrupt' in the bottom 6 lines",
        "claude.esc_to_interrupt",
        "screen",
        "esc to interrupt",
    )
    status_data = canonical_json(status.to_payload())
    counter_data = canonical_json(CounterIncremented(by=1, note="").to_payload())
    versions: dict[tuple[str, str], int] = {}
    previous, position, batch = store.GENESIS_HASH, 0, []
    while position < total:
        position += 1
        if position % 60 == 0:
            stream, event_type, data = (
                ("session", f"agent-{position // 60 % SESSIONS}"),
                "SessionStatusChanged",
                status_data,
            )
            actor, source = stream[1], "agent"
        else:
            stream = ("counter", "big")
            event_type, data, actor, source = "CounterIncremented", counter_data, "worker", "worker"
        if position % 5000 == 2500:
            actor, source = "alice", "web"
        versions[stream] = version = versions.get(stream, 0) + 1
        metadata = canonical_json({"actor": actor, "correlation_id": f"{position:032x}", "source": source})
        fields = (
            position,
            *stream,
            version,
            event_type,
            2 if event_type == "CounterIncremented" else 1,
            data,
            metadata,
            recorder.adapt_datetime(START + STEP * position),
        )
        previous = store.chain_hash(previous, fields)
        batch.append((*fields, previous))
        if len(batch) == 10_000 or position == total:
            with recorder.writing() as cursor:
                recorder.insert(cursor, batch)
            batch = []
    connection.close()
    return {f"{kind}:{name}": count for (kind, name), count in versions.items()}


def median_ms(func: Callable[[], object], runs: int) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        func()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def storage(path: Path, events: int) -> list[tuple[str, float]]:
    """Bytes per event of each table and index of the event table, and of the whole file."""
    import sqlite3

    with sqlite3.connect(path) as raw:
        rows = raw.execute(
            "SELECT name, SUM(pgsize) FROM dbstat WHERE name IN (SELECT name FROM sqlite_master "
            "WHERE tbl_name = 'chorus_event') OR name LIKE 'sqlite_autoindex_chorus_event%' GROUP BY name "
            "ORDER BY 2 DESC"
        ).fetchall()
    found = [(name, size / events) for name, size in rows]
    return [*found, ("whole file", path.stat().st_size / events)]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="chorus-bench-log-") as tmp:
        data_dir = Path(tmp)
        setup_django(data_dir)
        from django.conf import settings
        from django.test import Client

        from events_app import audit

        started = time.perf_counter()
        streams = fill(args.events)
        print(
            f"{args.events:,} events written in {time.perf_counter() - started:.1f} s; biggest stream counter:big "
            f"({streams['counter:big']:,}), {SESSIONS} session streams of ~{streams['session:agent-1']:,}"
        )
        print(f"load average at start: {os.getloadavg()[0]:.2f}; medians of {args.runs} runs\n")
        middle = START + STEP * (args.events // 2)
        oldest = {"before": "10000"}
        cases = {
            "nothing (the floor)": {},
            "one big stream": {"stream": "counter:big"},
            "one small stream": {"stream": "session:agent-1"},
            "a rare type of stream": {"stream": "session"},
            "a rare event type": {"type": "SessionStatusChanged"},
            "a common event type": {"type": "CounterIncremented"},
            "a rare actor": {"actor": "alice"},
            "a common actor": {"actor": "worker"},
            "a day of time": {"since": middle.isoformat(), "until": (middle + timedelta(days=1)).isoformat()},
        }
        client = Client(HTTP_HOST="127.0.0.1")
        client.get(f"/login/?token={settings.CHORUS_TOKEN}")

        def get(url: str, query: dict) -> Callable[[], object]:
            def request() -> None:
                response = client.get(url, query)
                assert response.status_code == 200, (url, query, response.status_code)

            request()  # warm: templates compiled, connections open
            return request

        results = []
        for label, params in cases.items():
            newest = median_ms(get("/events/", params), args.runs)
            last = median_ms(get("/events/", {**params, **oldest}), args.runs)
            results.append((label, newest, last))
        floor = results[0][1]
        print(f"{'/events/ (50, newest first) by':<38}{'newest ms':>10}{'oldest ms':>10}{'x floor':>9}  target")
        missed = 0
        for label, newest, last in results:
            worst = max(newest, last)
            missed += worst > TARGET_MS
            verdict = f"<= {TARGET_MS:.0f} ms: {'ok' if worst <= TARGET_MS else 'MISSED'}"
            print(f"{label:<38}{newest:>10.2f}{last:>10.2f}{worst / floor:>9.1f}  {verdict}")

        after = args.events - 2000
        api = {
            "nothing (the floor)": {},
            "one big stream, first page": {"stream_type": "counter", "stream_id": "big"},
            "one big stream, last page": {"stream_type": "counter", "stream_id": "big", "after": after},
            "an actor, last page": {"actor": "alice", "after": after - 50_000},
        }
        print(f"\n{'/api/events (100, oldest first) by':<38}{'ms':>10}")
        for label, query in api.items():
            took = median_ms(get("/api/events", query), args.runs)
            missed += took > TARGET_MS
            print(f"{label:<38}{took:>10.2f}")
        whole = median_ms(get("/api/events/streams/counter/big", {}), 3)
        bare = median_ms(get("/api/events", {"limit": 1000}), 3) * 10
        print(
            f"{'/api/events/streams/counter/big':<38}{whole:>10.2f}  (10,000 events; 10 x 1,000 unfiltered: {bare:.2f})"
        )

        started = time.perf_counter()
        chain = audit.verify_events()
        took = time.perf_counter() - started
        print(
            f"\nverify_events over {args.events:,}: {took:.1f} s ({args.events / took:,.0f} events/s), "
            f"{'ok' if chain.ok else chain.problem}"
        )

        database = Path(settings.DATABASES["default"]["NAME"])
        print(f"\n{'storage':<38}{'bytes/event':>12}")
        for name, size in storage(database, args.events):
            print(f"{name:<38}{size:>12.1f}")
        print(f"\nload average at end: {os.getloadavg()[0]:.2f}")
        return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
