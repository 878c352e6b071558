"""Event-store throughput on a fresh SQLite database configured like production, beside raw sqlite3.

Run on demand (not a test): `.venv/bin/python bench/event_store.py [--runs 5] [--rebuild-events 100000]`.
Each figure is the median of several runs, printed with a raw sqlite3 baseline measured in the same run on the
same kind of file (same schema, pragmas and timeout), so a slow disk or a busy machine moves both alike.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
COUNTERS = 20
TARGETS = {"single": 3_000, "rebuild": 50_000}
COLUMNS = "position, stream_type, stream_id, version, event_type, schema_version, data, metadata, recorded_at, hash"


def setup_django(data_dir: Path) -> None:
    """Chorus's own settings (plus the demo app for its projector), pointed at an empty data directory."""
    os.environ["CHORUS_DATA_DIR"] = str(data_dir)
    os.environ["CHORUS_DATABASE"] = str(data_dir / "chorus.sqlite3")
    os.environ["DJANGO_SETTINGS_MODULE"] = "tests.settings"
    # DEBUG would record every query in memory and slow the store down by a constant unrelated to it.
    os.environ["CHORUS_DEBUG"] = "0"
    sys.path.insert(0, str(ROOT))
    import django
    from django.core.management import call_command

    django.setup()
    from django.conf import settings

    # As in production, each commit that appends writes the log's signed anchor (the test settings leave it off).
    settings.CHORUS_ANCHOR_FILE = data_dir / "anchor"
    call_command("migrate", verbosity=0)


def raw_connection(path: Path) -> sqlite3.Connection:
    """A plain sqlite3 connection with exactly the pragmas and timeout Django's connection gets."""
    from django.conf import settings

    options = settings.DATABASES["default"]["OPTIONS"]
    raw = sqlite3.connect(path, timeout=options["timeout"], isolation_level=None)
    raw.executescript(options["init_command"])
    return raw


def timed(func: Callable[[], int]) -> float:
    """Items per second of one call of `func`, which returns how many items it handled."""
    start = time.perf_counter()
    count = func()
    return count / (time.perf_counter() - start)


class Bench:
    """The measured runs. Appends go straight to the store with the version a service would have read, across
    a few counters, so each one projects into the streams and demo read models."""

    def __init__(self, data_dir: Path, single: int, batches: int):
        from django.db import connection

        from events_app import store
        from tests.demo.events import CounterIncremented, CounterOpened

        self.store, self.incremented = store, CounterIncremented
        self.single, self.batches = single, batches
        self.versions: dict[str, int] = {}
        for number in range(COUNTERS):
            counter = f"c{number}"
            store.append("counter", counter, 0, [CounterOpened(name=counter)])
            self.versions[counter] = 1
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT sql FROM sqlite_master WHERE tbl_name = 'chorus_event' AND sql IS NOT NULL ORDER BY type DESC"
            )
            ddl = [row[0] for row in cursor.fetchall()]
            cursor.execute(f"SELECT {COLUMNS} FROM chorus_event ORDER BY position DESC LIMIT 1")
            self.sample = list(cursor.fetchone())
            # The read-model rows and checkpoints an append of one counter's event writes, for the statement floor.
            floor_tables = ("demo_counter", "demo_countertotal", "chorus_stream", "chorus_projector_checkpoint")
            copies = {}
            for table in floor_tables:
                cursor.execute(
                    "SELECT sql FROM sqlite_master WHERE tbl_name = %s AND sql IS NOT NULL ORDER BY type DESC", [table]
                )
                ddl += [row[0] for row in cursor.fetchall()]
                cursor.execute(f"SELECT * FROM {table}")
                copies[table] = cursor.fetchall()
        # The baselines write the same tables (constraints and every index) in a file of their own.
        self.raw = raw_connection(data_dir / "raw.sqlite3")
        for statement in ddl:
            self.raw.execute(statement)
        for table, rows in copies.items():
            if rows:
                marks = ", ".join("?" * len(rows[0]))
                self.raw.executemany(f"INSERT INTO {table} VALUES ({marks})", rows)
        self.raw_position = 0

    def _raw_rows(self, count: int) -> list[list]:
        rows = []
        for _ in range(count):
            self.raw_position += 1
            row = list(self.sample)
            row[0] = row[3] = self.raw_position
            rows.append(row)
        return rows

    def _insert_sql(self) -> str:
        return f"INSERT INTO chorus_event ({COLUMNS}) VALUES ({', '.join('?' * len(self.sample))})"

    def chorus_single(self) -> int:
        for number in range(self.single):
            counter = f"c{number % COUNTERS}"
            self.store.append("counter", counter, self.versions[counter], [self.incremented(by=1, note="")])
            self.versions[counter] += 1
        return self.single

    def raw_single(self) -> int:
        sql = self._insert_sql()
        for row in self._raw_rows(self.single):
            self.raw.execute("BEGIN IMMEDIATE")
            self.raw.execute(sql, row)
            self.raw.execute("COMMIT")
        return self.single

    def raw_statements(self) -> int:
        """The floor under an append with projection: the ten statements one issues (events_app's own, captured
        from an append of a counter's event), each through bare sqlite3 with no Python around them: BEGIN, the
        head, the INSERT, a read and an update of each of the two demo read-model rows, the stream's update, the
        checkpoints' one UPDATE, COMMIT."""
        from events_app.recorders.base import _HEAD

        insert = self._insert_sql()
        names = [row[0] for row in self.raw.execute("SELECT name FROM chorus_projector_checkpoint")]
        checkpoints = (
            f"UPDATE chorus_projector_checkpoint SET position = ? WHERE name IN ({', '.join('?' * len(names))})"
        )
        for row in self._raw_rows(self.single):
            counter = f"c{row[0] % COUNTERS}"
            self.raw.execute("BEGIN IMMEDIATE")
            self.raw.execute(_HEAD.replace("%s", "?"), ["counter", counter]).fetchone()
            self.raw.execute(insert, row)
            self.raw.execute("SELECT * FROM demo_counter WHERE id = ?", [counter]).fetchone()
            self.raw.execute("SELECT * FROM demo_countertotal WHERE key = 'all'").fetchone()
            self.raw.execute(
                "UPDATE demo_counter SET value = value + 1, increments = increments + 1 WHERE id = ?", [counter]
            )
            self.raw.execute("UPDATE demo_countertotal SET total = total + 1 WHERE key = 'all'")
            self.raw.execute(
                "UPDATE chorus_stream SET version = ?, last_position = ?, last_event_type = ?, updated_at = ? "
                "WHERE key = ?",
                [row[0], row[0], "CounterIncremented", row[8], f"counter:{counter}"],
            )
            self.raw.execute(checkpoints, [row[0], *names])
            self.raw.execute("COMMIT")
        return self.single

    def chorus_batch(self, size: int = 100) -> int:
        for number in range(self.batches):
            counter = f"c{number % COUNTERS}"
            events = [self.incremented(by=1, note="batch") for _ in range(size)]
            self.store.append("counter", counter, self.versions[counter], events)
            self.versions[counter] += size
        return self.batches * size

    def raw_batch(self, size: int = 100) -> int:
        sql = self._insert_sql()
        for _ in range(self.batches):
            self.raw.execute("BEGIN IMMEDIATE")
            self.raw.executemany(sql, self._raw_rows(size))
            self.raw.execute("COMMIT")
        return self.batches * size

    def fill(self, total: int, size: int = 100) -> None:
        """Append batches until the log holds exactly `total` events."""
        missing = total - self.store.last_position()
        while missing > 0:
            counter = f"c{missing % COUNTERS}"
            step = min(size, missing)
            self.store.append(
                "counter", counter, self.versions[counter], [self.incremented(by=2, note="") for _ in range(step)]
            )
            self.versions[counter] += step
            missing -= step

    def chorus_rebuild(self) -> int:
        from events_app import projection

        return projection.rebuild()["events"]

    def raw_select(self, path: Path) -> int:
        raw = raw_connection(path)
        try:
            rows = raw.execute(
                "SELECT position, stream_type, stream_id, version, event_type, schema_version, data, metadata, "
                "recorded_at FROM chorus_event ORDER BY position"
            ).fetchall()
        finally:
            raw.close()
        return len(rows)


def measure(runs: int, chorus: Callable[[], int], baseline: Callable[[], int]) -> tuple[float, float]:
    """Median rates of `runs` alternating runs, so drift (page cache, CPU frequency) hits both sides."""
    ours, theirs = [], []
    for _ in range(runs):
        ours.append(timed(chorus))
        theirs.append(timed(baseline))
    return statistics.median(ours), statistics.median(theirs)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--single", type=int, default=2000, help="single-event appends per run")
    parser.add_argument("--batches", type=int, default=50, help="batches of 100 per run")
    parser.add_argument("--rebuild-events", type=int, default=100_000, help="events in the log for the rebuild")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="chorus-bench-") as tmp, contextlib.ExitStack() as stack:
        data_dir = Path(tmp)
        setup_django(data_dir)
        from django.conf import settings
        from django.db import connection

        from events_app import audit, policies, projection
        from tests.demo import policies as demo_policies

        # The demo domain's reactions are fixtures of the policy tests: what is measured here is the store and the
        # projectors (Chorus's own policies react to none of the demo's events).
        demo = [p.name for p in policies.policies() if p.module == demo_policies.__name__]
        stack.enter_context(policies.suspended(*demo))
        bench = Bench(data_dir, args.single, args.batches)
        with connection.cursor() as cursor:
            cursor.execute("PRAGMA journal_mode")
            journal = cursor.fetchone()[0]
        options = settings.DATABASES["default"]["OPTIONS"]
        print(
            f"SQLite {sqlite3.sqlite_version}, journal_mode={journal}, transaction_mode={options['transaction_mode']}"
        )
        print(f"init_command: {options['init_command']}")
        print(f"projectors: {', '.join(p.name for p in projection.projectors())}; medians of {args.runs} runs")
        print(f"in-transaction policies: {', '.join(p.name for p in policies.policies(in_transaction=True)) or 'none'}")
        # Other work on the machine slows both sides; the load average says how much there was.
        print(f"load average at start: {os.getloadavg()[0]:.2f}\n")

        results = [
            ("single-event append + projection", "single", *measure(args.runs, bench.chorus_single, bench.raw_single)),
            (
                "single-event append + projection",
                "statements",
                *measure(args.runs, bench.chorus_single, bench.raw_statements),
            ),
            ("batch of 100 append + projection", "batch", *measure(args.runs, bench.chorus_batch, bench.raw_batch)),
        ]
        bench.fill(args.rebuild_events)
        database = Path(settings.DATABASES["default"]["NAME"])
        results.append(
            (
                f"rebuild over {args.rebuild_events:,} events",
                "rebuild",
                *measure(args.runs, bench.chorus_rebuild, lambda: bench.raw_select(database)),
            )
        )
        baselines = {
            "single": "raw INSERT + COMMIT per row",
            "statements": "raw: its 10 statements",
            "batch": "raw executemany of 100",
            "rebuild": "raw SELECT of every row",
        }
        print(f"{'measurement':<36}{'events/s':>10}  {'baseline':<28}{'rows/s':>10}  {'ratio':>6}  target")
        missed = 0
        for label, key, ours, theirs in results:
            target = TARGETS.get(key)
            verdict = "" if target is None else f">= {target:,}: {'ok' if ours >= target else 'MISSED'}"
            missed += bool(target and ours < target)
            print(f"{label:<36}{ours:>10,.0f}  {baselines[key]:<28}{theirs:>10,.0f}  {ours / theirs:>6.2f}  {verdict}")

        # A fast store that is wrong is worth nothing: check what the runs left behind.
        chain = audit.verify_events()
        differences = projection.verify()
        print(f"\nload average at end: {os.getloadavg()[0]:.2f}")
        print(
            f"verify_events: {'ok' if chain.ok else chain.problem} ({chain.checked:,} events"
            f"{f', signed anchor at #{chain.anchored:,}' if chain.anchored else ''}); "
            f"verify_projections: {'ok' if not differences else f'{len(differences)} difference(s)'}"
        )
        bench.raw.close()
        connection.close()
        return 1 if missed or not chain.ok or differences else 0


if __name__ == "__main__":
    sys.exit(main())
