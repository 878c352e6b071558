"""Approval policies on the pages: the settings page shows the rules in force and their file, saves the file only when
it is valid (a form error otherwise, nothing written), pauses and resumes them (CSRF-checked); the session page lists
its agent's approval decisions, live."""

import pytest
from django.conf import settings
from django.test import Client

from chorus_site.pages.session import SessionPage
from events_app import store
from sessions_app.models import MirroredScreen
from tasks_app import approvals, selectors
from tasks_app.services import approvals as services
from tests.tasks_app.factories import SessionFactory
from tests.tasks_app.test_approvals_screen import GEMINI, waiting

pytestmark = pytest.mark.django_db

RULE = '[[approvals.rules]]\nname = "tests"\ndecision = "allow"\ntool = "Bash"\ncommand = "^pytest"\n'


@pytest.fixture(autouse=True)
def _root(settings, tmp_path):
    settings.PROJECT_ROOT = tmp_path
    settings.DATA_DIR = tmp_path / "data"
    return tmp_path


def test_the_settings_page_shows_the_rules_in_force_and_their_file(browser, _root):
    (_root / "chorus.toml").write_text(RULE)
    page = browser.get("/settings/approvals").content.decode()
    assert f"<code>{_root / 'chorus.toml'}</code>" in page
    assert "Rules in force (1)" in page and "<b>allow</b> tests · tool <code>Bash</code>" in page
    assert "command = &quot;^pytest&quot;" in page  # the file's text, to edit
    assert "The rules are in force." in page and 'action="/settings/approvals/pause"' in page


def test_an_invalid_policy_is_a_form_error_and_nothing_is_written(browser, _root):
    (_root / "chorus.toml").write_text(RULE)
    bad = RULE.replace('command = "^pytest"', 'command = "(pytest"\ncolour = "red"')
    refused = browser.post("/settings/approvals", {"text": bad})
    assert refused.status_code == 400
    page = refused.content.decode()
    assert 'aria-invalid="true"' in page and "approvals rule 1 (colour): unknown key" in page
    assert "approvals rule 1 (command): is not a valid regular expression" in page
    assert "colour = &quot;red&quot;" in page  # the text stays as typed
    assert (_root / "chorus.toml").read_text() == RULE
    saved = browser.post("/settings/approvals", {"text": RULE.replace("^pytest", "^uv run pytest")}, follow=True)
    assert saved.status_code == 200 and "Saved: 1 rule(s) in force." in saved.content.decode()
    assert selectors.approval_policy().rules[0].command == "^uv run pytest"


def test_the_pause_switch_needs_the_csrf_token_and_is_an_event(browser):
    strict = Client(HTTP_HOST="127.0.0.1", enforce_csrf_checks=True)
    strict.get(f"/login/?token={settings.CHORUS_TOKEN}")
    assert strict.post("/settings/approvals/pause").status_code == 403
    assert strict.post("/settings/approvals", {"text": ""}).status_code == 403
    assert browser.post("/settings/approvals/pause", {"reason": "night"}, HTTP_HX_REQUEST="true").status_code == 200
    page = browser.get("/settings/approvals").content.decode()
    assert "(night): every request asks a person." in page and 'action="/settings/approvals/resume"' in page
    assert browser.post("/settings/approvals/resume", HTTP_HX_REQUEST="true").status_code == 200
    assert [e.event_type for e in store.read(stream_type="approvals")] == ["ApprovalsPaused", "ApprovalsResumed"]


def test_the_session_page_lists_its_agents_approval_decisions_live(_root):
    SessionFactory(name="s1", status="waiting")
    page = SessionPage({"name": "s1"})
    assert "live.s.approval.s1" in set(page.groups())
    assert "No permission request decided yet." in page.snapshot()
    with store.event_context(actor="s1", source="agent"):
        services.approval_decide(approvals.Request("Bash", "git push --force", cwd=str(_root), session="s1"))
    update = page.update([{"stream_type": "approval", "stream_id": "s1", "position": store.last_position()}])
    assert update.strip().startswith('<section id="approval-decisions"')
    assert "<b>deny</b> Bash <code>git push --force</code>" in update and "by policy, guard.force_push" in update


def test_a_persons_answer_to_the_dialog_on_the_session_page_is_recorded_as_theirs(browser, monkeypatch, _root):
    pressed = []
    monkeypatch.setattr(services.session_services, "session_send_keys", lambda name, k: pressed.append((name, k)))
    waiting("w", "gemini", _root)
    MirroredScreen.objects.create(session="w", text=GEMINI, seq=1)
    assert browser.post("/sessions/w/keys", {"key": "3"}, HTTP_HX_REQUEST="true").status_code == 200
    assert browser.post("/sessions/w/keys", {"key": "Down"}, HTTP_HX_REQUEST="true").status_code == 200
    assert pressed == [("w", ["3"]), ("w", ["Down"])]
    (row,) = selectors.approval_decisions("w")
    assert (row.subject, row.decision, row.rule, row.who) == (
        "echo kit > kit-permission.txt",
        "deny",
        "person",
        "person",
    )
