"""List or follow the event log: `manage.py events --stream session:abc --since 2026-11-24 --follow`."""

import json
import time
from datetime import datetime

from django.core.management.base import CommandError
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime

from events_app import store
from events_app.commands import DomainCommand
from events_app.schemas import LARGEST_INTEGER


def _when(value: str) -> datetime:
    """An ISO 8601 date and time, or a date (its midnight); naive ones are in the current time zone."""
    try:
        parsed = parse_datetime(value)
        if parsed is None:
            day = parse_date(value)
            parsed = datetime(day.year, day.month, day.day) if day else None
    except ValueError:
        parsed = None
    if parsed is None:
        raise CommandError(f"not a date and time: {value!r} (use ISO 8601, e.g. 2026-11-24 or 2026-11-24T09:30)")
    return parsed if timezone.is_aware(parsed) else timezone.make_aware(parsed, timezone.get_current_timezone())


class Command(DomainCommand):
    help = "List or follow events, filtered by stream, type and time."

    def add_arguments(self, parser):
        parser.add_argument("--stream", help="TYPE or TYPE:ID")
        parser.add_argument("--type", action="append", dest="types", help="event type (repeatable)")
        parser.add_argument("--since", help="recorded at or after (ISO 8601)")
        parser.add_argument("--until", help="recorded before (ISO 8601)")
        parser.add_argument("--after", type=int, default=0, help="only events after this position")
        parser.add_argument("--limit", type=int, default=None, help="at most this many (the latest, unless --after)")
        parser.add_argument("--follow", "-f", action="store_true", help="keep printing new events")
        parser.add_argument("--json", action="store_true", help="one JSON object per line")

    def handle(self, *args, **options):
        stream_type = stream_id = None
        if options["stream"]:
            stream_type, _, stream_id = options["stream"].partition(":")
            stream_id = stream_id or None
        filters = {
            "stream_type": stream_type,
            "stream_id": stream_id,
            "event_types": options["types"],
            "since": _when(options["since"]) if options["since"] else None,
            "before": _when(options["until"]) if options["until"] else None,
        }
        limit, after = options["limit"], options["after"]
        if limit is not None and not 1 <= limit <= LARGEST_INTEGER:
            raise CommandError(f"--limit must be at least 1 and at most {LARGEST_INTEGER}")
        if not 0 <= after <= LARGEST_INTEGER:
            raise CommandError(f"--after must be a position from 0 to {LARGEST_INTEGER}")
        end = store.last_position()
        if limit is not None and not after:
            items = list(store.read(**filters, until=end, limit=limit, descending=True))[::-1]
        else:
            items = list(store.read(**filters, after=after, until=end, limit=limit))
        for item in items:
            self._print(item, options["json"])
        if not options["follow"]:
            return
        position = items[-1].position if after and limit is not None and items else end
        try:
            while True:
                for item in store.read(**filters, after=position):
                    self._print(item, options["json"])
                    position = item.position
                self.stdout.flush()
                time.sleep(0.2)
        except KeyboardInterrupt:
            return

    def _print(self, item: store.RecordedEvent, as_json: bool) -> None:
        if as_json:
            self.stdout.write(
                json.dumps(
                    {
                        "position": item.position,
                        "recorded_at": item.recorded_at.isoformat(),
                        "stream_type": item.stream_type,
                        "stream_id": item.stream_id,
                        "version": item.version,
                        "event_type": item.event_type,
                        "data": item.event.to_payload(),
                        "metadata": item.metadata,
                    },
                    ensure_ascii=False,
                )
            )
        else:
            self.stdout.write(
                f"#{item.position}\t{item.recorded_at:%Y-%m-%d %H:%M:%S}\t{item.stream_type}:{item.stream_id} "
                f"v{item.version}\t{item.event_type}\t{item.metadata.get('actor', '')}"
                f"/{item.metadata.get('source', '')}\t{json.dumps(item.event.to_payload(), ensure_ascii=False)}"
            )
