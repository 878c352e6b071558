"""Approval policies for agents without a permission hook (Codex, Gemini): the dialog read off captured screens with
the profile's dialog-option rules, answered through the keys service (a fake sender here: no tmux), once per wait."""

from pathlib import Path

import pytest

from sessions_app.agents import claude, codex, gemini
from sessions_app.models import Session
from tasks_app import selectors, worker
from tasks_app.services import approvals as services
from tests.tasks_app.factories import SessionFactory

pytestmark = pytest.mark.django_db

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
CODEX = (FIXTURES / "codex-0.169.0" / "permission_1.txt").read_text()
GEMINI = (FIXTURES / "gemini-0.61.0" / "permission_1.txt").read_text()
ALLOW_KIT = '[[approvals.rules]]\nname = "kit"\ndecision = "allow"\ntool = "Bash"\ncommand = "^echo kit "\n'
DENY_ECHO = '[[approvals.rules]]\nname = "no echo"\ndecision = "deny"\ncommand = "^echo"\n'


@pytest.fixture
def pressed(monkeypatch):
    keys: list[tuple[str, list[str]]] = []
    monkeypatch.setattr(services.session_services, "session_send_keys", lambda name, k: keys.append((name, k)))
    return keys


def waiting(name: str, profile: str, root: Path, status: str = "waiting") -> None:
    """A session of `profile` working in the project's root (the factory's cwd is /tmp, outside it)."""
    SessionFactory(name=name, profile=profile, status=status)
    Session.objects.filter(name=name).update(cwd=str(root))


@pytest.fixture
def policy(docs):
    def write(text: str) -> None:
        (docs.root / "chorus.toml").write_text(text)

    return write


@pytest.mark.parametrize(("profile", "screen"), [("codex", CODEX), ("gemini", GEMINI)])
def test_an_allow_rule_presses_the_allowing_option_and_is_audited(profile, screen, policy, pressed, docs):
    policy(ALLOW_KIT)
    waiting("w", profile, docs.root)
    decision = services.approval_answer_on_screen("w", screen)
    assert (decision.decision, decision.rule) == ("allow", "kit")
    assert pressed == [("w", ["1"])]
    (row,) = selectors.approval_decisions("w")
    assert (row.tool, row.subject, row.who) == ("Bash", "echo kit > kit-permission.txt", "policy")


@pytest.mark.parametrize(("profile", "screen"), [("codex", CODEX), ("gemini", GEMINI)])
def test_deny_presses_the_refusing_option_and_ask_presses_nothing(profile, screen, policy, pressed, docs):
    policy(DENY_ECHO)
    waiting("w", profile, docs.root)
    assert services.approval_answer_on_screen("w", screen).decision == "deny"
    assert pressed == [("w", ["3"])]
    policy("")
    assert services.approval_answer_on_screen("w", screen).decision == "ask"
    assert pressed == [("w", ["3"])]


def test_another_dialog_or_an_agent_with_a_hook_is_left_alone(policy, pressed, docs):
    policy(ALLOW_KIT)
    waiting("w", "codex", docs.root)
    trust = (FIXTURES / "codex-0.169.0" / "firstrun_trust_1.txt").read_text()
    assert services.approval_answer_on_screen("w", trust) is None
    SessionFactory(name="c", profile="claude", status="waiting")
    assert services.approval_answer_on_screen("c", CODEX) is None
    assert (pressed, selectors.approval_decisions()) == ([], [])


def test_the_profiles_read_their_own_permission_dialogs():
    assert claude.SESSION_FILE.permission_request({"hook_event_name": "Stop"}) is None
    for module, screen in ((codex, CODEX), (gemini, GEMINI)):
        shown = module.PROFILE.permission_screen.read(module.PROFILE.dialog, screen)
        assert (shown.command, shown.allow_key, shown.deny_key) == ("echo kit > kit-permission.txt", "1", "3")
    assert gemini.PROFILE.permission_screen.read(gemini.PROFILE.dialog, CODEX) is None


class FakeTmux:
    def __init__(self, screen: str):
        self.screen, self.captures = screen, 0

    def capture(self, pane_id):
        self.captures += 1
        return type("Screen", (), {"text": self.screen})()


def test_the_worker_answers_each_wait_once(policy, pressed, monkeypatch, docs):
    policy(ALLOW_KIT)
    waiting("w", "codex", docs.root)
    waiting("i", "codex", docs.root, "idle")
    fake = FakeTmux(CODEX)
    monkeypatch.setattr(worker.session_services, "tmux", lambda: fake)
    job = worker.DialogApprovals()
    job.tick()
    job.tick()
    assert (fake.captures, pressed) == (1, [("w", ["1"])])
    job.start()
    job.tick()
    assert fake.captures == 2


def test_a_profile_extending_codex_reads_its_dialogs_too(policy, pressed, docs):
    policy('[profiles.night]\nextends = "codex"\n\n' + ALLOW_KIT)
    waiting("w", "night", docs.root)
    assert services.approval_answer_on_screen("w", CODEX).rule == "kit"
    assert pressed == [("w", ["1"])]
