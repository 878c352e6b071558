import subprocess
import sys

import pytest
from django.conf import settings
from django.test import Client

from tests.support import ROOT

pytestmark = pytest.mark.django_db


@pytest.fixture
def api():
    return Client(HTTP_AUTHORIZATION=f"Bearer {settings.CHORUS_TOKEN}")


def test_read_only_mode_refuses_every_change_but_shows_everything(api, settings):
    settings.CHORUS_READ_ONLY = True
    assert api.get("/api/health").status_code == 200
    refused = api.post("/api/sessions", {"name": "x"}, content_type="application/json")
    assert refused.status_code == 403 and "read-only" in refused.json()["detail"]
    assert api.delete("/api/sessions/x").status_code == 403
    browser = Client()
    assert browser.get(f"/login/?token={settings.CHORUS_TOKEN}").status_code == 302
    csrf = browser.cookies[settings.CSRF_COOKIE_NAME].value if settings.CSRF_COOKIE_NAME in browser.cookies else ""
    assert browser.post("/", {"csrfmiddlewaretoken": csrf}).status_code == 403


def test_oversized_bodies_are_refused(api, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    response = api.post("/api/sessions/x/messages", {"text": "x" * 5000}, content_type="application/json")
    assert response.status_code == 400


def test_security_headers_are_sent(api):
    response = api.get("/api/health")
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"


@pytest.mark.integration
def test_check_deploy_passes_with_the_production_settings(subprocess_env, tmp_path):
    env = {
        **subprocess_env,
        "DJANGO_SETTINGS_MODULE": "chorus_site.settings_production",
        "CHORUS_DATA_DIR": str(tmp_path),
    }
    result = subprocess.run(
        [sys.executable, str(ROOT / "manage.py"), "check", "--deploy", "--fail-level", "WARNING"],
        env=env,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr + result.stdout
    assert "no issues" in result.stdout
