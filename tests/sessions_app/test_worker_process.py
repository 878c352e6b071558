"""`manage.py run_worker` as a real process: clean SIGTERM, recovery after kill -9, desktop notifications."""

import os
import signal
import stat
import subprocess
import time

import pytest

from sessions_app import services
from sessions_app.models import OutboxMessage, Session
from tests.sessions_app.conftest import received_prompts

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def poll(condition, timeout=15.0, what="condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = condition()
        if result:
            return result
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.fixture
def worker_env(project, subprocess_env, tmp_path, tmux_server):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    notify = bin_dir / "notify-send"
    notify.write_text(f'#!/bin/sh\nprintf "%s|" "$@" >> {tmp_path}/notify.log\necho >> {tmp_path}/notify.log\n')
    notify.chmod(notify.stat().st_mode | stat.S_IEXEC)
    return {
        **subprocess_env,
        "PROJECT_ROOT": str(project.root),
        "CHORUS_TMUX_SOCKET": str(tmux_server.socket),
        "CHORUS_NOTIFY": "notify-send",
        "CHORUS_POLL_INTERVAL": "0.1",
        "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}",
    }


def start_worker(manage, env):
    return subprocess.Popen(
        [*manage, "run_worker"], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )


def test_sigterm_stops_the_worker_cleanly(project, manage, worker_env):
    services.session_create("w", "fake")
    worker = start_worker(manage, worker_env)
    try:
        poll(lambda: Session.objects.get(pk="w").status == "idle", what="idle")
    finally:
        worker.send_signal(signal.SIGTERM)
        output = worker.communicate(timeout=15)[0]
    assert worker.returncode == 0
    assert "worker stopped" in output


def test_waiting_notifies_the_desktop(project, manage, worker_env, tmp_path):
    services.session_create("w", "fake")
    worker = start_worker(manage, worker_env)
    try:
        poll(lambda: Session.objects.get(pk="w").status == "idle", what="idle")
        services.session_send("w", "ask:deploy")
        poll(lambda: Session.objects.get(pk="w").status == "waiting", what="waiting")
        calls = poll(
            lambda: (tmp_path / "notify.log").exists() and (tmp_path / "notify.log").read_text(), what="notice"
        )
    finally:
        worker.send_signal(signal.SIGTERM)
        worker.wait(timeout=15)
    assert "--app-name=Chorus|--|w needs you|" in calls


def test_after_kill_9_mid_delivery_the_prompt_is_submitted_exactly_once(project, manage, worker_env):
    toml = project.root / "chorus.toml"
    toml.write_text(toml.read_text() + "\n[profiles.fake.delivery]\nenter_delay = 4\n")
    services.session_create("w", "fake")
    worker = start_worker(manage, worker_env)
    try:
        poll(lambda: Session.objects.get(pk="w").status == "idle", what="idle")
        message = services.session_send("w", "survive a crash")
        poll(lambda: OutboxMessage.objects.get(pk=message.id).state == "delivering", what="delivering")
        time.sleep(1.0)
    finally:
        worker.kill()
        worker.wait(timeout=10)
    assert OutboxMessage.objects.get(pk=message.id).state == "delivering"
    assert received_prompts(project.log) == []
    restarted = start_worker(manage, worker_env)
    try:
        delivered = poll(lambda: OutboxMessage.objects.filter(pk=message.id, state="delivered").first(), what="done")
    finally:
        restarted.send_signal(signal.SIGTERM)
        restarted.wait(timeout=15)
    assert delivered.confirmed_by in ("went busy", "input line emptied")
    assert received_prompts(project.log) == ["survive a crash"]


def test_a_read_only_worker_watches_but_types_no_message_queued_before_it_started(project, manage, worker_env):
    services.session_create("w", "fake")
    message = services.session_send("w", "do not type me")
    worker = start_worker(manage, {**worker_env, "CHORUS_READ_ONLY": "1"})
    try:
        poll(lambda: Session.objects.get(pk="w").status == "idle", what="idle")
        time.sleep(1.0)  # ten polls at 0.1 s in which a delivery would have started
    finally:
        worker.send_signal(signal.SIGTERM)
        output = worker.communicate(timeout=15)[0]
    assert OutboxMessage.objects.get(pk=message.id).state == "queued"
    assert received_prompts(project.log) == []
    assert "read-only" in output
