"""The fleet's event store: appends on PostgreSQL beside bare psycopg in the same run, and the writers' lock.

Run on demand (not a test): `.venv/bin/python bench/fleet.py [--runs 5]`. It starts a throw-away PostgreSQL cluster
(tests/pg.py: initdb into a temp dir, as a non-root user; fsync off for both sides alike), migrates Chorus into it
and measures, each a median of several runs:

- single-event appends with projection, and batches of 100 events, through the store, beside bare psycopg
  INSERT + COMMIT of the same rows into a copy of the event table (its constraints and indexes): target >= 0.3;
- the same appends under each lock that makes insert order commit order (`pg_advisory_xact_lock` and
  `LOCK TABLE chorus_event IN EXCLUSIVE MODE`), one writer and four writers at once (threads, a connection each).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

COUNTERS = 20
TARGET = 0.3
WRITERS = 4
COLUMNS = "position, stream_type, stream_id, version, event_type, schema_version, data, metadata, recorded_at, hash"


def setup_django(data_dir: Path, url: str) -> None:
    os.environ["CHORUS_DATA_DIR"] = str(data_dir)
    os.environ["CHORUS_DATABASE_URL"] = url
    os.environ["DJANGO_SETTINGS_MODULE"] = "tests.settings"
    os.environ["CHORUS_DEBUG"] = "0"
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0)


def measure(runs: int, *funcs: Callable[[], int]) -> list[float]:
    """The median items per second of each function, run alternately so drift on the machine hits all alike."""
    rates: list[list[float]] = [[] for _ in funcs]
    for _ in range(runs):
        for index, func in enumerate(funcs):
            start = time.perf_counter()
            count = func()
            rates[index].append(count / (time.perf_counter() - start))
    return [statistics.median(found) for found in rates]


class Bench:
    def __init__(self, url: str, single: int, batches: int):
        import psycopg
        from django.db import connection

        from events_app import store
        from tests.demo.events import CounterIncremented, CounterOpened

        self.store, self.incremented, self.opened = store, CounterIncremented, CounterOpened
        self.single, self.batches = single, batches
        self.versions: dict[str, int] = {}
        for number in range(COUNTERS):
            counter = f"c{number}"
            store.append("counter", counter, 0, [CounterOpened(name=counter)])
            self.versions[counter] = 1
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT {COLUMNS} FROM chorus_event ORDER BY position DESC LIMIT 1")
            self.sample = list(cursor.fetchone())
        self.raw = psycopg.connect(url)
        self.raw.execute("CREATE TABLE bench_event (LIKE chorus_event INCLUDING ALL)")
        self.raw.commit()
        self.raw_position = 0
        self.insert = f"INSERT INTO bench_event ({COLUMNS}) VALUES ({', '.join(['%s'] * 10)})"

    def _raw_rows(self, count: int) -> list[list]:
        rows = []
        for _ in range(count):
            self.raw_position += 1
            row = list(self.sample)
            row[0] = row[3] = self.raw_position
            rows.append(row)
        return rows

    def chorus_single(self) -> int:
        for number in range(self.single):
            counter = f"c{number % COUNTERS}"
            self.store.append("counter", counter, self.versions[counter], [self.incremented(by=1, note="")])
            self.versions[counter] += 1
        return self.single

    def raw_single(self) -> int:
        with self.raw.cursor() as cursor:
            for row in self._raw_rows(self.single):
                cursor.execute(self.insert, row)
                self.raw.commit()
        return self.single

    def chorus_batch(self, size: int = 100) -> int:
        for number in range(self.batches):
            counter = f"c{number % COUNTERS}"
            events = [self.incremented(by=1, note="batch") for _ in range(size)]
            self.store.append("counter", counter, self.versions[counter], events)
            self.versions[counter] += size
        return self.batches * size

    def raw_batch(self, size: int = 100) -> int:
        with self.raw.cursor() as cursor:
            for _ in range(self.batches):
                cursor.executemany(self.insert, self._raw_rows(size))
                self.raw.commit()
        return self.batches * size

    def concurrent(self, writers: int) -> int:
        """Appends by `writers` threads at once, each to streams of its own (no version conflicts: what is
        measured is the lock), each thread on its own connection."""
        from django.db import connection

        per_writer = self.single // writers
        start = threading.Barrier(writers)
        errors: list[BaseException] = []

        def write(number: int) -> None:
            try:
                counter = f"w{number}-{time.monotonic_ns()}"
                self.store.append("counter", counter, 0, [self.opened(name=counter)])
                start.wait()
                for version in range(1, per_writer + 1):
                    self.store.append("counter", counter, version, [self.incremented(by=1, note="")])
            except BaseException as exc:
                errors.append(exc)
            finally:
                connection.close()

        threads = [threading.Thread(target=write, args=(n,)) for n in range(writers)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        if errors:
            raise errors[0]
        return per_writer * writers


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--single", type=int, default=1000, help="single-event appends per run")
    parser.add_argument("--batches", type=int, default=30, help="batches of 100 per run")
    args = parser.parse_args()

    from tests.pg import Cluster, binaries

    bin_dir = binaries()
    if bin_dir is None:
        print("PostgreSQL is not installed (apt-get install postgresql)", file=sys.stderr)
        return 1
    cluster = Cluster(bin_dir)
    try:
        with tempfile.TemporaryDirectory(prefix="chorus-bench-") as tmp, contextlib.ExitStack() as stack:
            url = cluster.create_database("bench")
            setup_django(Path(tmp), url)
            from django.db import connection

            from events_app import policies, projection, store
            from events_app.recorders.postgres import LOCKS, PostgresRecorder
            from tests.demo import policies as demo_policies

            demo = [p.name for p in policies.policies() if p.module == demo_policies.__name__]
            stack.enter_context(policies.suspended(*demo))
            bench = Bench(url, args.single, args.batches)
            print(f"PostgreSQL {connection.pg_version}, psycopg {_psycopg_version()}")
            print(f"projectors: {', '.join(p.name for p in projection.projectors())}; medians of {args.runs} runs")
            print(f"load average at start: {os.getloadavg()[0]:.2f}\n")
            print(f"{'':44}{'chorus/s':>11}{'bare/s':>11}{'ratio':>8}{'target':>8}")
            failed = False
            for name, chorus, raw in (
                ("single-event append + projection", bench.chorus_single, bench.raw_single),
                ("batch of 100 events + projection", bench.chorus_batch, bench.raw_batch),
            ):
                with store.use_recorder(PostgresRecorder()):
                    ours, bare = measure(args.runs, chorus, raw)
                ratio = ours / bare
                failed |= ratio < TARGET
                print(f"{name:44}{ours:>11,.0f}{bare:>11,.0f}{ratio:>8.2f}{'>=' + str(TARGET):>8}")
            print(f"\n{'lock (appends/s, median)':44}{'1 writer':>11}{f'{WRITERS} writers':>11}")
            # Both locks measured in the same runs, alternately, so drift on the machine hits them alike.
            recorders = {kind: PostgresRecorder(lock_kind=kind) for kind in LOCKS}

            def through(kind: str, func: Callable[[], int]) -> Callable[[], int]:
                def run() -> int:
                    with store.use_recorder(recorders[kind]):
                        return func()

                return run

            rates = measure(
                args.runs,
                *[through(kind, bench.chorus_single) for kind in LOCKS],
                *[through(kind, lambda: bench.concurrent(WRITERS)) for kind in LOCKS],
            )
            for index, kind in enumerate(LOCKS):
                one, many = rates[index], rates[len(LOCKS) + index]
                print(f"{kind + ' (' + LOCKS[kind] + ')':44.44}{one:>11,.0f}{many:>11,.0f}")
            return 1 if failed else 0
    finally:
        cluster.remove()


def _psycopg_version() -> str:
    import psycopg

    return psycopg.__version__


if __name__ == "__main__":
    sys.exit(main())
