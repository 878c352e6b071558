"""Usage limits and recovery with the real worker, tmux and the fake agent: the continue message after a limit is
typed once although the worker is killed with SIGKILL between scheduling and sending it (and again right after
sending it); a tmux server killed under live sessions, then `sessions recover`, brings them back on their
conversations."""

import io
import json
import signal
import time

import pytest
from django.conf import settings as django_settings
from django.core.management import call_command
from django.test import Client
from django.utils import timezone

from events_app import store
from sessions_app import services
from sessions_app.models import Session
from tests.sessions_app import test_worker_process
from tests.sessions_app.conftest import received_prompts
from tests.sessions_app.test_worker_process import poll, start_worker

worker_env = test_worker_process.worker_env  # the fixture: its worker's environment

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def count(name: str, event_type: str) -> int:
    return sum(1 for r in store.read(stream_type="session", stream_id=name) if r.event_type == event_type)


def stop(worker) -> None:
    worker.send_signal(signal.SIGTERM)
    worker.wait(timeout=15)


def test_the_continue_message_is_sent_once_across_kill_9(project, manage, worker_env):
    env = {**worker_env, "CHORUS_LIMIT_MARGIN": "0"}
    services.session_create("w", "fake")
    worker = start_worker(manage, env)
    try:
        poll(lambda: Session.objects.get(pk="w").status == "idle", what="idle")
        services.session_send("w", "limit:3")
        parked = poll(lambda: Session.objects.filter(pk="w", resume_at__isnull=False).first(), what="scheduled")
    finally:
        worker.kill()  # SIGKILL: scheduled, not sent
        worker.wait(timeout=10)
    assert parked.status == "waiting" and parked.status_reason.startswith("usage limit until ")
    assert count("w", "UsageLimitReached") == 1 and count("w", "ResumeSent") == 0
    time.sleep(max(0.0, (parked.resume_at - timezone.now()).total_seconds()) + 0.5)
    assert received_prompts(project.log) == ["limit:3"]  # due, and nobody to send it

    restarted = start_worker(manage, env)
    try:
        poll(lambda: count("w", "ResumeSent") == 1, what="resume sent")
    finally:
        restarted.kill()  # SIGKILL right after sending: a third worker must not send it again
        restarted.wait(timeout=10)
    third = start_worker(manage, env)
    try:
        poll(lambda: received_prompts(project.log) == ["limit:3", "continue"], what="continue typed")
        poll(lambda: Session.objects.get(pk="w").status == "idle", what="idle after the reply", timeout=10)
        time.sleep(1.0)  # ten polls in which a second resume would go out
    finally:
        stop(third)
    assert received_prompts(project.log) == ["limit:3", "continue"]
    assert count("w", "ResumeSent") == 1 and count("w", "ResumeScheduled") == 1


def ready_conversations(log) -> list[str]:
    entries = map(json.loads, log.read_text().splitlines())
    return [entry["conversation"] for entry in entries if entry.get("event") == "ready"]


def test_after_the_tmux_server_went_away_recover_resumes_each_conversation(project, manage, worker_env, tmux_server):
    services.session_create("r1", "fake")
    services.session_create("r2", "shell")  # no conversation to resume: started afresh
    worker = start_worker(manage, worker_env)
    try:
        bound = poll(lambda: Session.objects.exclude(conversation="").filter(pk="r1").first(), what="conversation")
        tmux_server.kill_server()  # the machine went away, as far as tmux goes
        poll(
            lambda: (
                set(Session.objects.filter(status_reason=services.PANE_GONE).values_list("name", flat=True))
                == {"r1", "r2"}
            ),
            what="panes gone",
        )
        api = Client(HTTP_AUTHORIZATION=f"Bearer {django_settings.CHORUS_TOKEN}")
        response = api.post("/api/sessions/recover")
        poll(lambda: Session.objects.get(pk="r1").status == "idle", what="idle again")
    finally:
        stop(worker)
    assert response.status_code == 200, response.content
    assert response.json() == [
        {"name": "r1", "recovered": True, "failure": ""},
        {"name": "r2", "recovered": True, "failure": ""},
    ]
    assert ready_conversations(project.log) == [bound.conversation, bound.conversation]
    assert {s.name: s.lifecycle for s in Session.objects.all()} == {"r1": "live", "r2": "live"}
    recovered = {
        r.stream_id: r.event.conversation
        for r in store.read(stream_type="session")
        if r.event_type == "SessionRecovered"
    }
    assert recovered == {"r1": bound.conversation, "r2": ""}
    # nothing left to recover
    assert services.sessions_to_recover() == []
    call_command("sessions", "recover", stdout=(out := io.StringIO()))
    assert out.getvalue().strip() == "Nothing to recover: every live session has its tmux pane."
