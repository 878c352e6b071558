"""Requests to the worker of a session's host (stream `request`): their kinds, the event each one's side effect
records, and how the asker waits for the outcome. The services that ask and carry out are in services.py."""

from __future__ import annotations

import time

from events_app import store
from sessions_app import events as ev
from sessions_app import hosts
from sessions_app.models import SessionRequest

KINDS = {
    ev.SessionStartRequested: "start",
    ev.SessionKillRequested: "kill",
    ev.SessionRestartRequested: "restart",
    ev.SessionKeysRequested: "keys",
    ev.SessionInputClearRequested: "clear-input",
    ev.SessionRemoveRequested: "remove",
    ev.SessionAdoptRequested: "adopt",
    ev.SessionsRecoverRequested: "recover",
}
REQUESTED = {kind: cls for cls, kind in KINDS.items()}
# What the side effect of each kind records once done: found in the log after a worker restart, it says the
# request was carried out before the worker died. A recovery records one event per session: none says it is done.
EFFECTS = {
    "start": "SessionCreated",
    "kill": "SessionKilled",
    "restart": "SessionRestarted",
    "keys": "KeysSent",
    "clear-input": "InputCleared",
    "remove": "SessionRemoved",
    "adopt": "SessionAdopted",
}
# how often an asker looks whether its request is done
WAIT_STEP = 0.01


def requested(request: SessionRequest):
    """The request's event again, from its row."""
    return REQUESTED[request.kind](session=request.session, host=request.host, **request.arguments)


def wait(request_id: str, timeout: float) -> SessionRequest:
    """The request once it is finished, or as it is after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        request = SessionRequest.objects.get(pk=request_id)
        if not request.is_open or time.monotonic() >= deadline:
            return request
        time.sleep(WAIT_STEP)


def waits_for(request: SessionRequest) -> str:
    """What an open request waits for ("" once finished): its host's worker, and why that one has not taken it."""
    if not request.is_open:
        return ""
    if request.state == SessionRequest.CLAIMED:
        return "being carried out by its host's worker"
    return hosts.offline().get(request.host) or f"the worker of host {request.host} has not taken it yet"


def pending_reason(request: SessionRequest) -> str:
    """Why an open request is not done yet, with how to withdraw it ("" once finished)."""
    if not request.is_open:
        return ""
    what = f"request {request.id} ({request.kind} {request.session or 'sessions'} on {request.host})"
    if request.state == SessionRequest.CLAIMED:
        return f"{what} is being carried out by its host's worker; its outcome will be on the session"
    return f"{what} is pending: {waits_for(request)}; cancel it with: chorus sessions cancel-request {request.id}"


def effect_recorded(request: SessionRequest) -> bool:
    """Whether the event of the request's side effect was appended after its claim (its correlation_id)."""
    effect = EFFECTS.get(request.kind)
    if effect is None or request.claimed_position is None:
        return False
    found = store.read(after=request.claimed_position, event_types=(effect,))
    return any(recorded.metadata.get("correlation_id") == request.id for recorded in found)
