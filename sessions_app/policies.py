"""Reactions to session events, registered in events_app.policies (`grep -rn "@policy\\|@worker_policy"` finds them).

- Queued messages fail in the transaction that ends their session: nothing can deliver them any more, and no worker
  may claim one between the session's end and its failure.
- The desktop hears of a session waiting, finishing or stopping from the worker, after the commit: a notification
  is a side effect that must not repeat on replay.
"""

from __future__ import annotations

import datetime

from django.utils import timezone

from events_app.policies import policy, worker_policy
from events_app.store import RecordedEvent
from sessions_app import events as ev
from sessions_app import notify, services

# Older news is not worth a notification: it was recorded while the worker was down.
NOTICE_MAX_AGE = datetime.timedelta(minutes=2)


@policy(ev.SessionKilled, ev.SessionStopped)
def queued_messages_fail_when_the_session_ends(recorded: RecordedEvent) -> None:
    event = recorded.event
    killed = isinstance(event, ev.SessionKilled)
    reason = "the session was killed" if killed else f"the session stopped: {event.reason}"
    services.messages_fail_queued(recorded.stream_id, reason)


def notice(recorded: RecordedEvent) -> tuple[str, str, str, str] | None:
    """What to tell the desktop about one event, as Notifier.notify's (session, kind, title, body), if anything."""
    name, event = recorded.stream_id, recorded.event
    if isinstance(event, ev.SessionStopped):
        return name, "stopped", f"{name} stopped", event.reason
    if event.to_status == "waiting":
        return name, "waiting", f"{name} needs you", event.reason
    if event.to_status == "idle" and event.from_status == "busy":
        return name, "idle", f"{name} is done", "back at its prompt"
    return None


@worker_policy(ev.SessionStatusChanged, ev.SessionStopped)
def the_desktop_hears_when_a_session_needs_a_person(batch: list[RecordedEvent]) -> None:
    """At least once: a batch offered again after a crash is absorbed by the notifier's dedupe (30 s)."""
    now = timezone.now()
    notifier = notify.notifier()
    for recorded in batch:
        said = notice(recorded)
        if said is not None and now - recorded.recorded_at <= NOTICE_MAX_AGE:
            notifier.notify(*said)
