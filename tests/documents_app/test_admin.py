import pytest
from django.conf import settings
from django.contrib.admin.utils import quote
from django.contrib.auth import get_user_model
from django.test import Client

from documents_app import services

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff():
    client = Client()
    client.get(f"/login/?token={settings.CHORUS_TOKEN}")
    client.force_login(get_user_model().objects.create_superuser("admin", password="x"))
    return client


def test_documents_are_listed_and_never_edited(staff, project):
    project.write("docs/guide.md", "# Guide\n")
    services.documents_scan()
    listing = staff.get("/admin/documents_app/document/", {"q": "guide"})
    assert listing.status_code == 200 and b"docs/guide.md" in listing.content
    url = f"/admin/documents_app/document/{quote('docs/guide.md')}/change/"
    detail = staff.get(url)
    assert detail.status_code == 200 and b'name="_save"' not in detail.content
    assert staff.post(url, {"title": "Forged"}).status_code == 403
    assert staff.get("/admin/documents_app/document/add/").status_code == 403
