"""Append demo events from a separate process (used by cross-process tests)."""

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

    def handle(self, *args, counter, count, interval, retry, **options):
        with store.event_context(actor="demo", source="cli"):
            if store.stream_version("counter", counter) == 0:
                try:
                    services.counter_open(counter, counter)
                except store.ConcurrencyError:
                    pass
            for _ in range(count):
                while True:
                    try:
                        version = store.stream_version("counter", counter)
                        services.counter_increment(counter, 1, expected_version=version)
                        break
                    except store.ConcurrencyError:
                        if not retry:
                            raise
                self.stdout.write(f"{time.time():.6f}")
                self.stdout.flush()
                if interval:
                    time.sleep(interval)
