"""Reactions to session events, registered in events_app.policies (`grep -rn "@policy\\|@worker_policy"` finds them).

- Queued messages fail in the transaction that ends their session: nothing can deliver them any more, and no worker
  may claim one between the session's end and its failure.
- The agent tools of an incarnation end with it, in the transaction of its end (killed, stopped, restarted): its
  credential is revoked and its open questions are withdrawn, so neither works a moment longer.
- The desktop hears of a session waiting, finishing or stopping from the worker, after the commit: a notification
  is a side effect that must not repeat on replay. So is removing a revoked credential's files.
"""

from __future__ import annotations

import datetime

from django.utils import timezone

from events_app.policies import policy, worker_policy
from events_app.store import RecordedEvent
from sessions_app import agent_reports, credentials, notify, services
from sessions_app import events as ev

# Older news is not worth a notification: it was recorded while the worker was down.
NOTICE_MAX_AGE = datetime.timedelta(minutes=2)


@policy(ev.SessionKilled, ev.SessionStopped)
def queued_messages_fail_when_the_session_ends(recorded: RecordedEvent) -> None:
    event = recorded.event
    killed = isinstance(event, ev.SessionKilled)
    reason = "the session was killed" if killed else f"the session stopped: {event.reason}"
    services.messages_fail_queued(recorded.stream_id, reason)


@policy(ev.SessionKilled, ev.SessionStopped, ev.SessionRestarted)
def agent_tools_end_with_their_session(recorded: RecordedEvent) -> None:
    event = recorded.event
    if isinstance(event, ev.SessionKilled):
        reason = "the session was killed"
    elif isinstance(event, ev.SessionStopped):
        reason = f"the session stopped: {event.reason}"
    else:
        reason = "the session was restarted"
    name = recorded.stream_id
    successor = credentials.revoke_ended(name, ended_at=recorded.position, reason=reason)
    # A restart under way has started a new agent, which may already have asked its own questions.
    agent_reports.questions_withdraw(name, before=successor or recorded.position, reason=reason)


@worker_policy(ev.AgentCredentialRevoked, at_start=True, per_host=True)
def revoked_credentials_leave_no_files(batch: list[RecordedEvent]) -> None:
    """At start, every session's directory is looked at: what was revoked while the worker was down."""
    credentials.files_remove({recorded.stream_id for recorded in batch} if batch else None)


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


@worker_policy(ev.SessionStatusChanged, ev.SessionStopped, per_host=True)
def the_desktop_hears_when_a_session_needs_a_person(batch: list[RecordedEvent]) -> None:
    """At least once: a batch offered again after a crash is absorbed by the notifier, which says each event (by
    its position and time) once. Every change is its own notice: a second dialog is announced however soon it
    follows."""
    now = timezone.now()
    notifier = notify.notifier()
    for recorded in batch:
        said = notice(recorded)
        if said is not None and now - recorded.recorded_at <= NOTICE_MAX_AGE:
            notifier.notify(*said, key=(recorded.position, recorded.recorded_at))
