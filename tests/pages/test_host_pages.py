"""Hosts on the pages: each host online or offline, the overview of one host (`?host=`), and a session of an
offline host that says so instead of showing its last status as current."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from chorus_site.pages.overview import OverviewPage
from chorus_site.pages.session import SessionPage
from sessions_app import hosts, services
from sessions_app.models import SessionRequest, WorkerPresence
from tests.pages.test_agent_pages import notice
from tests.sessions_app.factories import SessionFactory
from tests.tasks_app.helpers import session_status

pytestmark = pytest.mark.django_db


def test_the_overview_shows_hosts_and_filters_by_one(browser, settings):
    hosts.claim()
    WorkerPresence.objects.create(
        host="ci-2", machine="box", pid=7, started_at=timezone.now(), last_seen=timezone.now()
    )
    SessionFactory(name="here")
    SessionFactory(name="there", host="ci-2")
    page = browser.get("/").content.decode()
    assert 'id="host-list"' in page and "?host=ci-2" in page and 'id="card-here"' in page and 'id="card-there"' in page
    only = browser.get("/?host=ci-2").content.decode()
    assert 'id="card-there"' in only and 'id="card-here"' not in only
    assert "host offline" not in page


def test_a_session_of_an_offline_host_says_so_on_its_card_and_page(browser, settings):
    settings.CHORUS_HOST_OFFLINE_SECONDS = 5
    hosts.claim()
    SessionFactory(name="s1", host="ci-2")
    session_status("s1", "busy", "spinner")
    overview = OverviewPage({})
    overview.snapshot()
    session_page = SessionPage({"name": "s1"})
    session_page.snapshot()
    # no worker ever: offline from the first reading, so nothing more to say about it
    assert "session-head" not in session_page.refresh_screens() and overview.refresh_screens() == ""
    page = browser.get("/").content.decode()
    assert "host ci-2 has no worker yet; last seen busy: spinner" in page
    assert "host ci-2 has no worker yet; last seen busy" in browser.get("/sessions/s1/").content.decode()

    seen = timezone.now()
    WorkerPresence.objects.create(host="ci-2", machine="box", pid=7, started_at=seen, last_seen=seen)
    back = overview.refresh_screens()  # presence is no event: the screen timer notices and sends the cards again
    assert 'id="card-s1"' in back and "host offline" not in back and 'id="host-list"' in back
    head = session_page.refresh_screens()
    assert 'id="session-head"' in head and "host offline" not in head

    WorkerPresence.objects.filter(pk="ci-2").update(last_seen=seen - timedelta(minutes=5))
    gone = overview.refresh_screens()
    assert f"host ci-2 offline since {timezone.localtime(seen - timedelta(minutes=5)):%H:%M}" in gone
    assert "host ci-2 offline since" in session_page.refresh_screens()
    assert overview.refresh_screens() == ""  # said once


def test_the_pages_show_a_pending_request_and_cancel_it(browser, settings):
    settings.CHORUS_REQUESTS_INLINE, settings.CHORUS_REQUEST_WAIT = False, 0.05
    SessionFactory(name="w", host="ci-2")
    with pytest.raises(services.RequestPending):
        services.session_kill("w")
    [request] = SessionRequest.objects.all()
    overview, session_page = OverviewPage({}), SessionPage({"name": "w"})
    overview.snapshot()
    session_page.snapshot()
    for url in ("/", "/sessions/w/"):
        page = browser.get(url).content.decode()
        assert f'id="request-{request.id}"' in page and "host ci-2 has no worker yet" in page
        assert f"/sessions/requests/{request.id}/cancel" in page
    browser.post(f"/sessions/requests/{request.id}/cancel")
    assert SessionRequest.objects.get().state == "cancelled"
    changed = [notice("request", request.id)]
    assert 'id="open-requests"' in overview.update(changed) and "cancelled" in session_page.update(changed)


def test_the_new_session_form_offers_the_hosts_and_asks_the_chosen_one(browser, settings):
    settings.CHORUS_REQUESTS_INLINE, settings.CHORUS_REQUEST_WAIT = False, 0.05
    hosts.claim()
    assert 'name="host"' not in browser.get("/").content.decode()  # one host: nothing to choose
    SessionFactory(name="there", host="ci-2")
    page = browser.get("/").content.decode()
    assert '<option value="ci-2">ci-2 (offline)</option>' in page
    assert f'<option value="{settings.CHORUS_HOST_NAME}" selected>' in page
    answer = browser.post("/sessions/new", {"name": "w", "profile": "shell", "host": "ci-2"}, HTTP_HX_REQUEST="true")
    assert "is pending: host ci-2 has no worker yet" in answer.content.decode()
    assert SessionRequest.objects.get().host == "ci-2"
