import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.test import Client

from events_app.models import StoredEvent
from tests.demo import services

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff():
    client = Client()
    client.get(f"/login/?token={settings.CHORUS_TOKEN}")
    client.force_login(get_user_model().objects.create_superuser("admin", password="x"))
    return client


def test_the_event_log_is_listed_and_searchable(staff):
    services.counter_open("c1", "first")
    services.counter_increment("c1", 4)
    page = staff.get("/admin/events_app/storedevent/")
    assert page.status_code == 200
    assert b"CounterIncremented" in page.content
    assert staff.get("/admin/events_app/storedevent/", {"q": "c1"}).status_code == 200
    assert staff.get("/admin/events_app/stream/").status_code == 200


def test_events_cannot_be_added_changed_or_deleted_in_the_admin(staff):
    services.counter_open("c1", "first")
    event = StoredEvent.objects.get()
    assert staff.get("/admin/events_app/storedevent/add/").status_code == 403
    detail = staff.get(f"/admin/events_app/storedevent/{event.pk}/change/")
    assert detail.status_code == 200 and b'name="_save"' not in detail.content
    assert staff.post(f"/admin/events_app/storedevent/{event.pk}/change/", {"event_type": "Forged"}).status_code == 403
    assert staff.get(f"/admin/events_app/storedevent/{event.pk}/delete/").status_code == 403
    deleted = staff.post(
        "/admin/events_app/storedevent/", {"action": "delete_selected", "_selected_action": [event.pk], "post": "yes"}
    )
    assert deleted.status_code in (200, 302)
    assert StoredEvent.objects.get().event_type == "CounterOpened"


def test_the_admin_needs_a_staff_login_too():
    client = Client()
    client.get(f"/login/?token={settings.CHORUS_TOKEN}")
    response = client.get("/admin/events_app/storedevent/")
    assert response.status_code == 302 and "/admin/login/" in response["Location"]
