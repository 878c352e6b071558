"""The setup check (chorus_site/doctor.py) through a fake Probe: no program runs. The same lines in `doctor`, its
exit code, the /doctor/ page and the overview's panel."""

from __future__ import annotations

import io
import json

import pytest
from django.core.management import CommandError, call_command

from chorus_site import doctor
from chorus_site.doctor import FAIL, OK, WARN

pytestmark = pytest.mark.django_db


class FakeProbe(doctor.Probe):
    def __init__(self, programs: dict[str, str], port: str | None = None):
        self.programs = programs  # name -> version line
        self.port = port
        self.asked: list[list[str]] = []

    def which(self, program, path=None):
        return f"/usr/bin/{program}" if program in self.programs else None

    def version(self, argv):
        self.asked.append(argv)
        return self.programs[argv[0].rsplit("/", 1)[1]]

    def port_answer(self, host, port):
        return self.port


@pytest.fixture
def setup(settings, tmp_path, monkeypatch):
    """A project with a claude profile whose HOME is its own, and Claude's session-file directory. Chorus's own HOME
    disables Claude's hooks: only the agent's HOME counts."""
    agent_home = tmp_path / "agent-home"
    (agent_home / ".claude").mkdir(parents=True)
    chorus_home = tmp_path / "chorus-home"
    (chorus_home / ".claude").mkdir(parents=True)
    (chorus_home / ".claude" / "settings.json").write_text(json.dumps({"disableAllHooks": True}))
    monkeypatch.setenv("HOME", str(chorus_home))
    project = tmp_path / "project"
    project.mkdir()
    (project / "chorus.toml").write_text(f'[profiles.claude]\nenv = {{ HOME = "{agent_home}" }}\n')
    sessions = tmp_path / "claude-sessions"
    sessions.mkdir()
    monkeypatch.setenv("CHORUS_CLAUDE_SESSIONS_DIR", str(sessions))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    settings.PROJECT_ROOT = project
    settings.CHORUS_NOTIFY = "notify-send"
    settings.CHORUS_READ_ONLY = False
    return agent_home


def lines(findings) -> dict[str, tuple[str, str, str]]:
    return {f.topic: (f.level, f.detail, f.advice) for f in findings}


def test_every_line_says_ok_warn_or_fail_with_what_to_do(setup):
    probe = FakeProbe({"tmux": "tmux 3.4", "claude": "2.0.14 (Claude Code)", "notify-send": ""})
    found = lines(doctor.diagnose(probe))
    assert found["tmux"] == (OK, "tmux 3.4 (/usr/bin/tmux)", "")
    assert found["agent claude"] == (OK, "2.0.14 (Claude Code) (/usr/bin/claude)", "")
    level, detail, advice = found["agent codex"]
    assert (level, detail) == (WARN, "codex is not installed (not on PATH)")
    assert "install codex" in advice
    assert found["agent claude signals"] == (OK, f"hooks enabled ({setup / '.claude' / 'settings.json'})", "")
    assert found["notifier"] == (OK, "desktop notices through notify-send", "")
    assert found["database"][0] == OK
    assert found["port"][0] == OK and "is free: `start` listens there" in found["port"][1]
    assert found["read-only"] == (OK, "off", "")
    assert "agents" not in found
    # Each program's version is asked once (claude and the profiles extending it share one program).
    assert sorted(map(tuple, probe.asked)) == sorted({tuple(argv) for argv in probe.asked})
    assert not doctor.failed(doctor.diagnose(probe))


def test_hooks_disabled_in_the_agents_own_home_is_a_warning_naming_that_file(setup, tmp_path):
    (setup / ".claude" / "settings.json").write_text(json.dumps({"disableAllHooks": True}))
    found = lines(doctor.diagnose(FakeProbe({"tmux": "tmux 3.4", "claude": "2.0.14"})))
    signals = [line for topic, line in found.items() if topic == "agent claude signals"]
    assert any(
        level == WARN and str(setup / ".claude" / "settings.json") in detail and "disableAllHooks" in advice
        for level, detail, advice in signals
    )


def test_a_gemini_setting_that_hides_its_pane_title_is_a_warning_naming_the_file_that_decides(
    setup, settings, tmp_path, monkeypatch
):
    monkeypatch.setenv("GEMINI_CLI_SYSTEM_SETTINGS_PATH", str(tmp_path / "no-system-settings.json"))
    user, project = tmp_path / "chorus-home" / ".gemini", settings.PROJECT_ROOT / ".gemini"
    user.mkdir()
    (user / "settings.json").write_text(json.dumps({"ui": {"hideWindowTitle": True}}))
    probe = FakeProbe({"tmux": "tmux 3.4", "gemini": "0.61.0"})

    level, detail, advice = lines(doctor.diagnose(probe))["agent gemini signals"]
    assert (level, detail) == (
        WARN,
        f"{user / 'settings.json'} sets ui.hideWindowTitle: no pane title, its status comes from the screen alone",
    )
    assert "remove ui.hideWindowTitle" in advice
    # the project's settings override the user's
    project.mkdir()
    (project / "settings.json").write_text(json.dumps({"ui": {"hideWindowTitle": False}}))
    assert lines(doctor.diagnose(probe))["agent gemini signals"][0] == OK


def test_what_fails_is_named_and_the_command_exits_non_zero(setup, settings, monkeypatch):
    settings.CHORUS_READ_ONLY = True
    probe = FakeProbe({}, port="Something else")
    found = lines(doctor.diagnose(probe))
    assert found["tmux"][0] == FAIL and "apt-get install tmux" in found["tmux"][2]
    assert found["agents"][0] == FAIL
    assert found["notifier"][0] == FAIL
    assert found["port"][0] == FAIL and "PORT=" in found["port"][2]
    assert found["read-only"][0] == WARN
    monkeypatch.setattr(doctor, "Probe", lambda: probe)
    out = io.StringIO()
    with pytest.raises(CommandError, match="checks failed"):
        call_command("doctor", stdout=out)
    assert "FAIL  tmux" in out.getvalue()
    with pytest.raises(CommandError):
        call_command("doctor", "--json", stdout=(out := io.StringIO()))
    assert {line["level"] for line in json.loads(out.getvalue())} == {OK, WARN, FAIL}


def test_chorus_already_on_the_port_is_fine(setup):
    found = lines(doctor.diagnose(FakeProbe({"tmux": "tmux 3.4"}, port="Log in · Chorus")))
    assert found["port"][0] == OK and "Chorus is running" in found["port"][1]


def test_the_page_and_the_overviews_panel_show_the_same_lines(setup, client, settings, monkeypatch):
    monkeypatch.setattr(doctor, "Probe", lambda: FakeProbe({"claude": "2.0.14"}))
    monkeypatch.setattr(doctor, "_cached", None)
    client.get("/login/", {"token": settings.CHORUS_TOKEN})
    overview = client.get("/").content.decode()
    assert 'hx-get="/doctor/"' in overview
    page = client.get("/doctor/").content.decode()
    assert "tmux" in page and "not installed" in page and "serving on 127.0.0.1:" in page
    panel = client.get("/doctor/", HTTP_HX_REQUEST="true").content.decode()
    assert panel.lstrip().startswith('<section id="setup-panel"')
    assert "doctor-failed" in panel and "tmux" in panel
    assert "2.0.14" not in panel  # the panel lists only what to look at
