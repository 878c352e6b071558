"""Append demo events from a separate process (used by cross-process tests).

Prints one line per append (its wall-clock time) and, at the end, `retried N` on stderr: how many version
conflicts it met and retried. With --wait it prints `ready` and blocks until a line arrives on stdin, so a test
can start several writers at the same moment.
"""

import sys
import time

from django.core.management.base import BaseCommand

from events_app import store
from tests.demo import services


class Command(BaseCommand):
    def add_arguments(self, parser):
        parser.add_argument("counter")
        parser.add_argument("--count", type=int, default=1)
        parser.add_argument("--interval", type=float, default=0.0)
        parser.add_argument("--retry", action="store_true", help="retry version conflicts")
        parser.add_argument("--wait", action="store_true", help="print 'ready', then wait for a line on stdin")

    def handle(self, *args, counter, count, interval, retry, wait, **options):
        if wait:
            self.stdout.write("ready")
            self.stdout.flush()
            sys.stdin.readline()
        retried = 0
        with store.event_context(actor="demo", source="cli"):
            if store.stream_version("counter", counter) == 0:
                try:
                    services.counter_open(counter, counter)
                except store.ConcurrencyError:
                    retried += 1
            for _ in range(count):
                while True:
                    # Read the version, then append expecting it: the window in which another writer can win.
                    version = store.stream_version("counter", counter)
                    try:
                        services.counter_increment(counter, 1, expected_version=version)
                        break
                    except store.ConcurrencyError:
                        if not retry:
                            raise
                        retried += 1
                self.stdout.write(f"{time.time():.6f}")
                self.stdout.flush()
                if interval:
                    time.sleep(interval)
        self.stderr.write(f"retried {retried}")
