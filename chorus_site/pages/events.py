"""The event log, filtered and paged; the newest page follows the log live, an older page keeps what it showed."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.http import urlencode

from chorus_site.pages.base import EVERY, Fragment, LivePage
from events_app import selectors as event_selectors
from events_app.domain import registered_types

EVENTS_PER_PAGE = 50


def _when(value: str | None) -> datetime | None:
    if not value:
        return None
    parsed = parse_datetime(value)
    if parsed is None:
        return None
    if parsed.tzinfo is None:
        parsed = timezone.make_aware(parsed, timezone.get_default_timezone())
    return parsed


def _filters(params: Mapping[str, str]) -> dict:
    stream_type, _, stream_id = params.get("stream", "").partition(":")
    before = params.get("before", "")
    return {
        "stream_type": stream_type or None,
        "stream_id": stream_id or None,
        "event_types": [params["type"]] if params.get("type") else None,
        "since": _when(params.get("since")),
        "before": _when(params.get("until")),
        "until": int(before) - 1 if before.isdigit() else None,
    }


def events(params: Mapping[str, str]) -> list:
    actor = params.get("actor", "").strip()
    return event_selectors.events_page(limit=EVENTS_PER_PAGE, descending=True, actor=actor or None, **_filters(params))


def rows(params: Mapping[str, str]) -> dict:
    shown = events(params)
    older = None
    if len(shown) == EVENTS_PER_PAGE:
        older = "?" + urlencode({**params, "before": shown[-1].position})
    newer = None
    if params.get("before"):
        newer = "?" + urlencode({k: v for k, v in params.items() if k != "before"})
    return {"events": shown, "older": older, "newer": newer, "position": event_selectors.last_position()}


class EventsPage(LivePage):
    name = "events"
    template = "events.html"
    section = "events"
    parameters = ("stream", "type", "actor", "since", "until", "before")
    topics = (EVERY,)

    def read_rows(self) -> list[Fragment]:
        return [Fragment("events.html#event-rows", rows(self.params))]

    partials = {"event-rows": read_rows}

    @property
    def renders(self) -> dict[str, tuple[str, ...]]:
        return {} if self.params.get("before") else {EVERY: ("event-rows",)}

    def context(self) -> dict:
        return {
            **super().context(),
            **rows(self.params),
            "filters": self.params,
            "stream_types": sorted({cls.stream_type for cls in registered_types().values()}),
            "event_types": sorted(registered_types()),
        }
