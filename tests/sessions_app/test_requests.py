"""Requests to the worker of a session's host, without a process: asking (and what an asker is told while the
host is offline), cancelling, carrying out (claim first, then the outcome), and settling after a worker died."""

from __future__ import annotations

import io
import json
import os
import socket
from datetime import timedelta

import pytest
from django.conf import settings as django_settings
from django.core.management import CommandError, call_command
from django.test import Client
from django.utils import timezone

from events_app import store
from events_app.store import event_context
from sessions_app import events as ev
from sessions_app import hosts, requests, selectors, services
from sessions_app.models import SessionRequest, WorkerPresence
from tests.sessions_app.factories import SessionFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _asked_of_a_worker(settings):
    settings.CHORUS_REQUESTS_INLINE = False
    settings.CHORUS_REQUEST_WAIT = 0.05


@pytest.fixture
def offline_host():
    seen = timezone.now() - timedelta(minutes=5)
    WorkerPresence.objects.create(host="ci-2", machine="box", pid=7, started_at=seen, last_seen=seen)
    return f"host ci-2 offline since {timezone.localtime(seen):%H:%M}"


def request_of(session: str) -> SessionRequest:
    return SessionRequest.objects.get(session=session)


def test_a_request_for_an_offline_host_stays_pending_and_says_why(offline_host):
    SessionFactory(name="w", host="ci-2")
    with pytest.raises(services.RequestPending, match=rf"is pending: {offline_host}; cancel it with: chorus sessions"):
        services.session_kill("w")
    request = request_of("w")
    assert (request.kind, request.host, request.state) == ("kill", "ci-2", "pending")
    assert selectors.requests("w")[0].waits_for == offline_host
    assert selectors.session("w").is_live  # nothing was done


def test_a_pending_request_can_be_cancelled_once(offline_host):
    SessionFactory(name="w", host="ci-2")
    with pytest.raises(services.RequestPending):
        services.session_send_keys("w", ["Enter"])
    request = request_of("w")
    assert request.arguments == {"keys": ["Enter"]}
    cancelled = services.request_cancel(request.id)
    assert (cancelled.state, cancelled.reason, cancelled.waits_for) == ("cancelled", "cancelled by a person", "")
    with pytest.raises(services.SessionConflict, match="is cancelled, so it can no longer be cancelled"):
        services.request_cancel(request.id)
    services.request_carry_out(selectors.request(request.id))  # a worker coming back finds nothing to do
    assert selectors.request(request.id).state == "cancelled"


def test_bad_input_is_refused_before_anything_is_asked():
    SessionFactory(name="w", host="ci-2")
    with pytest.raises(services.SessionError, match="key\\(s\\) not allowed: rm"):
        services.session_send_keys("w", ["rm"])
    with pytest.raises(services.SessionError, match="invalid session name"):
        services.session_create("-bad", "fake", host="ci-2")
    with pytest.raises(services.SessionConflict, match="already running"):
        services.session_create("w", "fake", host="ci-2")
    with pytest.raises(services.SessionError, match="invalid host name"):
        services.session_create("v", "fake", host="ci\n2")
    assert not SessionRequest.objects.exists()


def ask(requested) -> SessionRequest:
    store.append("request", "r1", 0, [requested])
    return selectors.request("r1")


def test_the_worker_claims_before_it_acts_and_records_the_outcome(monkeypatch):
    SessionFactory(name="w")
    done = []

    def pretend(requested):
        done.append(requested)
        assert selectors.request("r1").state == "claimed"  # claimed before the side effect
        store.append("session", "w", None, [ev.KeysSent(keys=list(requested.keys))])
        return {"pressed": len(requested.keys)}

    monkeypatch.setitem(services.EXECUTORS, ev.SessionKeysRequested, pretend)
    with event_context(actor="browser", source="web"):
        request = ask(ev.SessionKeysRequested(session="w", host=django_settings.CHORUS_HOST_NAME, keys=["Enter"]))
    services.request_carry_out(request)
    services.request_carry_out(request)  # a stale row (another worker's look): claimed already, not done twice
    assert len(done) == 1
    finished = selectors.request("r1")
    assert (finished.state, finished.detail, finished.actor) == ("carried", {"pressed": 1}, "browser")
    [pressed] = store.read(stream_type="session", stream_id="w", event_types=("KeysSent",))
    assert pressed.metadata["correlation_id"] == "r1" and pressed.metadata["actor"] == "browser"
    assert requests.effect_recorded(finished)


def test_a_refusal_and_a_crash_of_the_executor_are_failures_with_their_status(monkeypatch):
    SessionFactory(name="w")
    request = ask(ev.SessionKillRequested(session="w", host=django_settings.CHORUS_HOST_NAME))

    def broken(_requested):
        raise RuntimeError("tmux exploded")

    monkeypatch.setitem(services.EXECUTORS, ev.SessionKillRequested, broken)
    services.request_carry_out(request)
    failed = selectors.request("r1")
    assert (failed.state, failed.status) == ("failed", 500) and "tmux exploded" in failed.reason
    store.append("request", "r2", 0, [ev.SessionRemoveRequested(session="w", host=django_settings.CHORUS_HOST_NAME)])
    services.request_carry_out(selectors.request("r2"))  # the real executor: a live session is not removed
    refused = selectors.request("r2")
    assert (refused.state, refused.status, refused.reason) == ("failed", 409, "session 'w' is live; kill it first")


def claimed(requested) -> SessionRequest:
    """A request a worker claimed and then died on (kill -9): no outcome recorded."""
    request = ask(requested)
    store.append("request", "r1", request.version, [ev.RequestClaimed(machine=socket.gethostname(), pid=4242)])
    return selectors.request("r1")


def test_after_a_worker_died_a_request_whose_effect_is_in_the_log_is_carried(monkeypatch):
    SessionFactory(name="w")
    request = claimed(ev.SessionKeysRequested(session="w", host=django_settings.CHORUS_HOST_NAME, keys=["y"]))
    with event_context(correlation_id=request.id):
        store.append("session", "w", None, [ev.KeysSent(keys=["y"])])
    monkeypatch.setitem(services.EXECUTORS, ev.SessionKeysRequested, lambda _r: pytest.fail("pressed twice"))
    services.requests_reconcile()
    assert selectors.request("r1").state == "carried"


def test_after_a_worker_died_keys_not_recorded_are_failed_never_pressed_again(monkeypatch):
    SessionFactory(name="w")
    claimed(ev.SessionKeysRequested(session="w", host=django_settings.CHORUS_HOST_NAME, keys=["y"]))
    monkeypatch.setitem(services.EXECUTORS, ev.SessionKeysRequested, lambda _r: pytest.fail("pressed twice"))
    services.requests_reconcile()
    failed = selectors.request("r1")
    assert (failed.state, failed.reason) == ("failed", services.INTERRUPTED)


def test_after_a_worker_died_a_kill_is_finished_and_another_hosts_requests_are_left(monkeypatch):
    SessionFactory(name="w")
    claimed(ev.SessionKillRequested(session="w", host=django_settings.CHORUS_HOST_NAME))
    store.append("request", "r9", 0, [ev.SessionKillRequested(session="w", host="ci-2")])
    store.append("request", "r9", 1, [ev.RequestClaimed(machine="box", pid=7)])
    monkeypatch.setitem(services.EXECUTORS, ev.SessionKillRequested, lambda _r: {"again": True})
    services.requests_reconcile()
    assert selectors.request("r1").detail == {"again": True}
    assert selectors.request("r9").state == "claimed"


def test_the_worker_of_a_host_carries_out_what_its_own_jobs_ask_at_once(monkeypatch):
    SessionFactory(name="w")
    monkeypatch.setitem(services.EXECUTORS, ev.SessionKeysRequested, lambda _r: {})
    job = hosts.Heartbeat()
    job.start()
    try:
        services.session_send_keys("w", ["Enter"])  # e.g. an approval policy pressing a dialog's key
    finally:
        job.stop()
    assert not SessionRequest.objects.exists()


def test_requests_in_the_api_and_on_the_command_line(offline_host):
    SessionFactory(name="w", host="ci-2")
    api = Client(HTTP_AUTHORIZATION=f"Bearer {django_settings.CHORUS_TOKEN}")
    answer = api.post("/api/sessions/w/kill")
    assert answer.status_code == 202 and offline_host in answer.json()["detail"]
    [listed] = api.get("/api/requests?open=true").json()
    assert (listed["kind"], listed["state"]) == ("kill", "pending") and offline_host in listed["pending_reason"]
    out = io.StringIO()
    call_command("sessions", "requests", "w", stdout=out)
    assert listed["id"] in out.getvalue() and offline_host in out.getvalue()
    with pytest.raises(CommandError, match=rf"request [0-9a-f]+ \(restart w on ci-2\) is pending: {offline_host}"):
        call_command("sessions", "restart", "w")
    assert api.post(f"/api/requests/{listed['id']}/cancel").json()["state"] == "cancelled"
    assert api.post(f"/api/requests/{listed['id']}/cancel").status_code == 409
    assert api.get("/api/requests/nope").status_code == 404
    restart = selectors.requests("w", open_only=True)[0]
    out = io.StringIO()
    call_command("sessions", "--json", "cancel-request", restart.id, stdout=out)
    assert json.loads(out.getvalue())["state"] == "cancelled"
    assert selectors.requests(open_only=True) == []


def test_a_process_that_owns_its_hosts_tmux_asks_nobody(settings, monkeypatch):
    settings.CHORUS_REQUESTS_INLINE = True
    SessionFactory(name="w")
    SessionFactory(name="x", host="ci-2")
    monkeypatch.setitem(services.EXECUTORS, ev.SessionKeysRequested, lambda _r: {})
    services.session_send_keys("w", ["Enter"])
    assert not SessionRequest.objects.exists()
    with pytest.raises(services.RequestPending):
        services.session_send_keys("x", ["Enter"])  # another host's: its worker's
    assert os.getpid() and request_of("x").state == "pending"
