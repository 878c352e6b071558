"""Event-store throughput on a fresh SQLite database configured like production, beside raw sqlite3.

Run on demand (not a test): `.venv/bin/python bench/event_store.py [--runs 5] [--rebuild-events 100000]`.
Each figure is the median of several runs, printed with a raw sqlite3 baseline measured in the same run on the
same kind of file (same schema, pragmas and timeout), so a slow disk or a busy machine moves both alike; `cpu` is
the median ratio of the two sides' CPU time (this process's), which other jobs on a shared machine move far less.

`--storage 1000000` instead measures what each column and index of the event table costs, in bytes per event, on
bench/event_log.py's log, beside the same events copied into a compact layout (integer stream keys and types,
integer time, metadata once per distinct value, correlation and causation as positions).
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
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
COUNTERS = 20
TARGETS = {"single": 3_000, "rebuild": 50_000}
# The Django database alias of the baselines' file.
FLOOR = "floor"
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


def timed(func: Callable[[], int]) -> tuple[float, float]:
    """Items per second of one call of `func`, which returns how many items it handled: of wall time, and of this
    process's CPU time (every thread's, the anchor's too), which other jobs on a shared machine disturb far less."""
    start, cpu = time.perf_counter(), time.process_time()
    count = func()
    return count / (time.perf_counter() - start), count / (time.process_time() - cpu)


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
        self._checkpoint_names = [row[0] for row in self.raw.execute("SELECT name FROM chorus_projector_checkpoint")]
        self._checkpoints_sql = (
            "UPDATE chorus_projector_checkpoint SET position = %s "
            f"WHERE name IN ({', '.join(['%s'] * len(self._checkpoint_names))})"
        )
        # The baselines' file as a Django database too, for the statements issued the way Django issues them.
        from django.db import connections

        connections.settings[FLOOR] = {**connections.settings["default"], "NAME": str(data_dir / "raw.sqlite3")}

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

    def _statements(self, execute: Callable[[str, list], Any], row: list) -> None:
        """The statements of an append with projection but BEGIN and COMMIT (events_app's own, captured from an
        append of a counter's event): the head, the INSERT, a read and an update of each of the two demo
        read-model rows, the stream's update, the checkpoints' one UPDATE."""
        from events_app.recorders.base import _HEAD

        counter = f"c{row[0] % COUNTERS}"
        execute(_HEAD, ["counter", counter]).fetchone()
        execute(self._insert_sql(), row)
        execute("SELECT * FROM demo_counter WHERE id = %s", [counter]).fetchone()
        execute("SELECT * FROM demo_countertotal WHERE key = 'all'", []).fetchone()
        execute("UPDATE demo_counter SET value = value + 1, increments = increments + 1 WHERE id = %s", [counter])
        execute("UPDATE demo_countertotal SET total = total + 1 WHERE key = 'all'", [])
        execute(
            "UPDATE chorus_stream SET version = %s, last_position = %s, last_event_type = %s, updated_at = %s "
            "WHERE key = %s",
            [row[0], row[0], "CounterIncremented", row[8], f"counter:{counter}"],
        )
        execute(self._checkpoints_sql, [row[0], *self._checkpoint_names])

    def raw_statements(self) -> int:
        """The floor under an append with projection: its ten statements (BEGIN IMMEDIATE, `_statements`, COMMIT)
        each through bare sqlite3 with no Python around them."""

        def execute(sql: str, params: list) -> sqlite3.Cursor:
            return self.raw.execute(sql.replace("%s", "?"), params)

        for row in self._raw_rows(self.single):
            self.raw.execute("BEGIN IMMEDIATE")
            self._statements(execute, row)
            self.raw.execute("COMMIT")
        return self.single

    def django_statements(self) -> int:
        """The same ten statements as a Django program must issue them: in `transaction.atomic` (which BEGINs and
        COMMITs, with its bookkeeping and commit hooks), through the recorder's fast cursor, on the baselines' file.
        What an append costs beyond this is the store's and the projectors' own Python."""
        from django.db import transaction

        from events_app.recorders.sqlite import SQLiteRecorder

        recorder = SQLiteRecorder(FLOOR)
        for row in self._raw_rows(self.single):
            with transaction.atomic(using=FLOOR), contextlib.closing(recorder.cursor()) as cursor:
                self._statements(cursor.execute, row)
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


# The same events in a compact layout: streams, event types and metadata (without its correlation and causation)
# once per distinct value in tables of their own; a row keeps their integer keys, the correlation and causation as
# positions (the first event of the correlation, the trigger), recorded_at as integer microseconds. Indexes for the
# same filters, each in position order within one value: a stream's versions, a type, a type of stream (its small
# integer in the row), an actor (the metadata ids that name it, merged).
COMPACT = """
CREATE TABLE x_stream (id INTEGER PRIMARY KEY, stream_type TEXT NOT NULL, stream_id TEXT NOT NULL,
    UNIQUE (stream_type, stream_id));
INSERT INTO x_stream (stream_type, stream_id) SELECT DISTINCT stream_type, stream_id FROM chorus_event;
CREATE TABLE x_type (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE);
INSERT INTO x_type (name) SELECT DISTINCT event_type FROM chorus_event UNION SELECT DISTINCT stream_type
    FROM chorus_event;
CREATE TABLE x_metadata (id INTEGER PRIMARY KEY, text TEXT NOT NULL UNIQUE);
INSERT INTO x_metadata (text) SELECT DISTINCT json_remove(metadata, '$.correlation_id', '$.causation_id')
    FROM chorus_event;
CREATE TABLE x_event (position INTEGER PRIMARY KEY, stream INTEGER NOT NULL, stream_type INTEGER NOT NULL,
    version INTEGER NOT NULL, type INTEGER NOT NULL, schema_version INTEGER NOT NULL, data TEXT NOT NULL,
    metadata INTEGER NOT NULL, correlation INTEGER, causation INTEGER, recorded_at INTEGER NOT NULL,
    hash BLOB NOT NULL);
INSERT INTO x_event SELECT e.position, s.id, k.id, e.version, t.id, e.schema_version, e.data, m.id,
    e.position, json_extract(e.metadata, '$.causation_id'),
    CAST(strftime('%s', e.recorded_at) AS INTEGER) * 1000000 + CAST(substr(e.recorded_at || '.000000', 21, 6)
        AS INTEGER),
    e.hash
    FROM chorus_event e JOIN x_stream s ON s.stream_type = e.stream_type AND s.stream_id = e.stream_id
    JOIN x_type t ON t.name = e.event_type JOIN x_type k ON k.name = e.stream_type
    JOIN x_metadata m ON m.text = json_remove(e.metadata, '$.correlation_id', '$.causation_id');
CREATE UNIQUE INDEX x_event_stream_version ON x_event (stream, version);
CREATE INDEX x_event_type ON x_event (type);
CREATE INDEX x_event_stream_type ON x_event (stream_type);
CREATE INDEX x_event_metadata ON x_event (metadata);
CREATE TABLE y_event (position INTEGER PRIMARY KEY, stream INTEGER NOT NULL, stream_type INTEGER NOT NULL,
    version INTEGER NOT NULL, type INTEGER NOT NULL, schema_version INTEGER NOT NULL, data TEXT NOT NULL,
    metadata TEXT NOT NULL, recorded_at INTEGER NOT NULL, hash BLOB NOT NULL);
INSERT INTO y_event SELECT position, stream, stream_type, version, type, schema_version, data,
    (SELECT metadata FROM chorus_event e WHERE e.position = x_event.position), recorded_at, hash FROM x_event;
CREATE UNIQUE INDEX y_event_stream_version ON y_event (stream, version);
CREATE INDEX y_event_type ON y_event (type);
CREATE INDEX y_event_stream_type ON y_event (stream_type);
CREATE INDEX y_event_actor ON y_event ((metadata ->> 'actor'));
"""


def storage(events: int) -> int:
    """Bytes per event of each column, table and index of the event table, and of the compact layout's."""
    from django.conf import settings
    from event_log import fill

    fill(events)
    raw = sqlite3.connect(settings.DATABASES["default"]["NAME"])
    columns = ["stream_type", "stream_id", "event_type", "data", "metadata", "recorded_at", "hash"]
    lengths = raw.execute(f"SELECT {', '.join(f'AVG(LENGTH({c}))' for c in columns)} FROM chorus_event").fetchone()
    print(f"{events:,} events (bench/event_log.py's log); mean stored bytes of each text column:")
    print("  " + ", ".join(f"{c} {n:.1f}" for c, n in zip(columns, lengths, strict=True)))
    raw.executescript(COMPACT)
    raw.commit()
    sizes = dict(raw.execute("SELECT name, SUM(pgsize) FROM dbstat GROUP BY name").fetchall())
    tables = dict(raw.execute("SELECT name, tbl_name FROM sqlite_master WHERE type IN ('table', 'index')").fetchall())
    raw.close()

    def layout(title: str, names: list[str]) -> float:
        print(f"\n{title:<44}{'bytes/event':>12}")
        for name in sorted(names, key=lambda n: -sizes[n]):
            print(f"  {name:<42}{sizes[name] / events:>12.1f}")
        total = sum(sizes[n] for n in names) / events
        print(f"  {'total':<42}{total:>12.1f}")
        return total

    now = layout("the event table now", [n for n in sizes if tables.get(n) == "chorus_event"])
    shared = [n for n in sizes if tables.get(n) in ("x_stream", "x_type")]
    inline = layout(
        "compact, metadata (with its correlation id) in the row",
        [*shared, *(n for n in sizes if tables.get(n) == "y_event")],
    )
    compact = layout(
        "compact, metadata once per distinct value",
        [*shared, *(n for n in sizes if tables.get(n) in ("x_event", "x_metadata"))],
    )
    print(
        f"\ncompact / now: {inline / now:.2f} with metadata in the row, {compact / now:.2f} with metadata apart; "
        f"target <= 200 bytes an event: {'ok' if compact <= 200 else 'MISSED'}"
    )
    return 0 if compact <= 200 else 1


def measure(runs: int, chorus: Callable[[], int], baseline: Callable[[], int]) -> tuple[float, float, float]:
    """Median rates of `runs` alternating runs, so drift (page cache, CPU frequency) hits both sides: ours and the
    baseline's of wall time, then the median ratio of CPU time."""
    ours, theirs, cpu = [], [], []
    for _ in range(runs):
        wall, our_cpu = timed(chorus)
        their_wall, their_cpu = timed(baseline)
        ours.append(wall)
        theirs.append(their_wall)
        cpu.append(our_cpu / their_cpu)
    return statistics.median(ours), statistics.median(theirs), statistics.median(cpu)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--single", type=int, default=2000, help="single-event appends per run")
    parser.add_argument("--batches", type=int, default=50, help="batches of 100 per run")
    parser.add_argument("--rebuild-events", type=int, default=100_000, help="events in the log for the rebuild")
    parser.add_argument("--storage", type=int, default=0, metavar="EVENTS", help="measure storage instead")
    args = parser.parse_args()
    if args.storage:
        with tempfile.TemporaryDirectory(prefix="chorus-bench-") as tmp:
            setup_django(Path(tmp))
            return storage(args.storage)

    with tempfile.TemporaryDirectory(prefix="chorus-bench-") as tmp, contextlib.ExitStack() as stack:
        data_dir = Path(tmp)
        setup_django(data_dir)
        from django.conf import settings
        from django.db import connection, connections

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
            (
                "single-event append + projection",
                "django",
                *measure(args.runs, bench.chorus_single, bench.django_statements),
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
            "django": "the 10 through Django",
            "batch": "raw executemany of 100",
            "rebuild": "raw SELECT of every row",
        }
        print(f"{'measurement':<36}{'events/s':>10}  {'baseline':<28}{'rows/s':>10}  {'ratio':>6}  {'cpu':>5}  target")
        missed = 0
        for label, key, ours, theirs, cpu in results:
            target = TARGETS.get(key)
            verdict = "" if target is None else f">= {target:,}: {'ok' if ours >= target else 'MISSED'}"
            missed += bool(target and ours < target)
            print(
                f"{label:<36}{ours:>10,.0f}  {baselines[key]:<28}{theirs:>10,.0f}  {ours / theirs:>6.2f}  {cpu:>5.2f}  "
                f"{verdict}"
            )

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
        connections[FLOOR].close()
        return 1 if missed or not chain.ok or differences else 0


if __name__ == "__main__":
    sys.exit(main())
