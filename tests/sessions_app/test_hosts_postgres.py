"""Hosts on PostgreSQL: what one host's worker stores or is asked reaches the others through LISTEN/NOTIFY, not
through a doorbell in a data directory (hosts share none) nor a poll. Run by tests/events_app/test_postgres.py."""

import asyncio
import threading
import time
import uuid

import pytest
from channels.db import database_sync_to_async
from django.conf import settings
from django.db import connection

from events_app import store
from sessions_app import events as ev
from sessions_app import mirror, screens, services
from sessions_app import worker as worker_module

pytestmark = [
    pytest.mark.integration,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        connection.vendor != "postgresql", reason="needs a PostgreSQL database (tests/events_app/test_postgres.py)"
    ),
]
TIMEOUT = 5


@pytest.mark.asyncio
async def test_a_screen_stored_by_any_hosts_worker_wakes_the_pages_of_every_web_server():
    follower = await screens.following()
    assert follower.bell is None and follower.listener is not None  # no doorbell: hosts share no data directory
    await asyncio.wait_for(follower.news().wait(), TIMEOUT)  # listening
    news = follower.news()
    await database_sync_to_async(mirror.record)({"far": ("%1", "$ make\n", 1.0)})
    await asyncio.wait_for(news.wait(), TIMEOUT)
    follower.listener.cancel()


def test_a_request_from_another_host_is_taken_at_once_not_at_the_next_poll(monkeypatch):
    monkeypatch.setattr(worker_module, "REQUEST_POLL", 60.0)
    taken: list[str] = []
    seen = threading.Event()

    def carry_out(request):
        taken.append(request.id)
        seen.set()

    monkeypatch.setattr(services, "request_carry_out", carry_out)
    runner = worker_module.RequestRunner()
    runner.start()
    try:
        time.sleep(0.5)  # its first look, and its LISTEN
        seen.clear()
        taken.clear()
        request_id = uuid.uuid4().hex
        store.append("request", request_id, 0, [ev.SessionKillRequested(session="w", host=settings.CHORUS_HOST_NAME)])
        assert seen.wait(TIMEOUT)
        assert request_id in taken
    finally:
        runner.stop()
