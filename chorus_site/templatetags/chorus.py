"""Template helpers of the pages: statuses as text plus a shape (never colour alone), durations, JSON."""

from __future__ import annotations

import json
from datetime import datetime

from django import template
from django.utils import timezone

register = template.Library()

# Each status has a shape as well as a colour, so it reads without colour vision and in a monochrome print.
STATUS_ICONS = {
    "waiting": "⚠",
    "busy": "◐",
    "idle": "○",
    "unknown": "?",
    "stopped": "■",
    "killed": "✕",
    "live": "●",
}


@register.filter
def status_icon(status: str) -> str:
    return STATUS_ICONS.get(status, "·")


@register.filter
def age(when: datetime | None) -> str:
    """How long ago: "45s", "3m 12s", "2h 5m", "3d 4h"."""
    if when is None:
        return ""
    seconds = max(int((timezone.now() - when).total_seconds()), 0)
    if seconds < 60:
        return f"{seconds}s"
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes}m {seconds}s"
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return f"{hours}h {minutes}m"
    days, hours = divmod(hours, 24)
    return f"{days}d {hours}h"


@register.filter
def pretty_json(value) -> str:
    return json.dumps(value, indent=2, ensure_ascii=False, sort_keys=True, default=str)


@register.filter
def session_state(session) -> str:
    """What a session is doing, in one word: its status while live, else how it ended."""
    return session.status if session.is_live else session.lifecycle


@register.filter
def get_item(mapping, key):
    return mapping.get(key, key) if hasattr(mapping, "get") else key
