"""Starting sessions with Chorus's tools, end to end with real tmux: the credential issued at start and restart, the
tools loader's files and flags, the `chorus` twin on the pane's PATH, and the secret on no command line."""

from __future__ import annotations

import io
import json
import stat
import subprocess
import sys
import time

import psutil
import pytest
from django.core.management import call_command

from sessions_app import credentials, services
from sessions_app.errors import AgentDenied, SessionError
from sessions_app.models import Session

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

# A program that stays put and ignores its arguments, whatever a tools loader adds to them.
IDLE = [sys.executable, "-c", "import time; time.sleep(600)"]


def secret_of(name: str) -> str:
    return (credentials.directory(name) / credentials.SECRET_FILE).read_text()


def agent_process(name: str) -> psutil.Process:
    """The pane's program once the launcher has exec'd it (the launcher's $0 is chorus-agent until then, and the
    kernel shows an empty command line for a moment during the exec)."""
    pid = Session.objects.get(pk=name).pid
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and (not (line := psutil.Process(pid).cmdline()) or "chorus-agent" in line):
        time.sleep(0.05)
    return psutil.Process(pid)


def command_lines() -> list[str]:
    lines = []
    for process in psutil.process_iter(["cmdline"]):
        lines.append(" ".join(process.info["cmdline"] or []))
    return lines


def start_commands(tmux_server) -> list[str]:
    listing = subprocess.run(
        ["tmux", "-S", str(tmux_server.socket), "list-panes", "-a", "-F", "#{pane_start_command}"],
        capture_output=True,
        text=True,
        check=True,
    )
    return listing.stdout.splitlines()


def mode(path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_a_claude_session_gets_its_mcp_config_and_the_secret_is_on_no_command_line(project, tmux_server, settings):
    services.session_create("w1", "fake")
    secret = secret_of("w1")
    directory = credentials.directory("w1")
    config = directory / "claude-mcp.json"
    assert json.loads(config.read_text()) == {
        "mcpServers": {
            "chorus": {"type": "http", "url": settings.CHORUS_MCP_URL, "headers": {"Authorization": f"Bearer {secret}"}}
        }
    }
    assert (mode(directory), mode(directory / "credential"), mode(config)) == (0o700, 0o600, 0o600)
    agent = agent_process("w1")
    assert agent.cmdline()[-4:] == ["--mcp-config", str(config), "--allowedTools", "mcp__chorus"]
    environment = agent.environ()
    assert environment["CHORUS_AGENT_CREDENTIAL"] == str(directory / "credential")
    assert environment["PATH"].split(":")[0] == str(directory / "bin")
    assert not any(secret in line for line in command_lines())
    assert not any(secret in line for line in start_commands(tmux_server))
    assert credentials.verify(secret) == ("w1", "self")


def test_codex_gets_its_token_from_the_launcher_not_from_argv(project, tmux_server):
    (project.root / "chorus.toml").write_text(
        f'[profiles.coder]\nextends = "codex"\ncommand = {json.dumps(IDLE)}\nagent_tools = "fleet-read"\n'
    )
    services.session_create("c1", "coder")
    secret = secret_of("c1")
    agent = agent_process("c1")
    assert agent.environ()["CHORUS_AGENT_TOKEN"] == secret
    assert 'mcp_servers.chorus.bearer_token_env_var="CHORUS_AGENT_TOKEN"' in agent.cmdline()
    assert not any(secret in line for line in command_lines())
    assert not any(secret in line for line in start_commands(tmux_server))
    assert credentials.verify(secret) == ("c1", "fleet-read")


def test_a_shell_finds_the_chorus_twin_on_its_path(project, tmux_server):
    # A shell that reads no start-up files, ready at once.
    with (project.root / "chorus.toml").open("a") as config:
        config.write('[profiles.sh]\nextends = "shell"\ncommand = ["/bin/sh"]\n')
    services.session_create("s1", "sh", tools="fleet-write")
    pane = Session.objects.get(pk="s1").pane_id
    tmux_server.send_text(pane, "command -v chorus > found.txt")
    tmux_server.send_keys(pane, "Enter")
    found = project.root / "found.txt"
    deadline = time.monotonic() + 10
    while not (found.exists() and found.read_text()) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert found.read_text().strip() == str(credentials.directory("s1") / "bin" / "chorus")


def test_on_postgresql_the_twin_names_the_shared_database(project, tmux_server, settings):
    """A tmux server that was started without Chorus's environment (a user's own) gives the pane no
    CHORUS_DATABASE_URL: the twin carries it, or `chorus agent ...` would open an SQLite file named like the
    database."""
    settings.CHORUS_DATABASE_URL = "postgresql://chorus@db.example:5432/chorus"
    services.session_create("s1", "fake", tools="self")
    twin = (credentials.directory("s1") / "bin" / "chorus").read_text()
    assert "CHORUS_DATABASE_URL=postgresql://chorus@db.example:5432/chorus " in twin
    assert "CHORUS_DATABASE=" not in twin


def test_tools_off_start_the_agent_as_before(project, tmux_server):
    services.session_create("plain", "shell", tools="off")
    assert not credentials.directory("plain").exists()
    assert "CHORUS_AGENT_CREDENTIAL" not in psutil.Process(Session.objects.get(pk="plain").pid).environ()


def test_an_unknown_tier_is_refused_before_anything_starts(project, tmux_server):
    with pytest.raises(SessionError, match="agent tools must be one of self, fleet-read, fleet-write, off"):
        services.session_create("w1", "fake", tools="everything")
    assert not tmux_server.has_session("w1")


def test_a_restart_issues_a_new_credential_of_the_same_tier_and_the_old_one_stops_working(project, tmux_server):
    services.session_create("w1", "shell", tools="fleet-read")
    old = secret_of("w1")
    services.session_restart("w1")
    new = secret_of("w1")
    assert new != old
    assert credentials.verify(new) == ("w1", "fleet-read")
    with pytest.raises(AgentDenied):
        credentials.verify(old)


def test_a_session_created_without_tools_restarts_without_them(project, tmux_server):
    services.session_create("w1", "shell", tools="fleet-write")
    services.session_kill("w1")
    services.session_create("w1", "shell", tools="off")
    services.session_restart("w1")
    assert "CHORUS_AGENT_CREDENTIAL" not in agent_process("w1").environ()


def test_the_command_and_the_api_choose_the_tier(project, tmux_server, client, settings):
    call_command("sessions", "new", "c1", "--profile", "shell", "--tools", "fleet-read", stdout=io.StringIO())
    created = client.post(
        "/api/sessions",
        {"name": "a1", "profile": "shell", "tools": "fleet-write"},
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {settings.CHORUS_TOKEN}",
    )
    assert created.status_code == 201, created.content
    assert credentials.verify(secret_of("c1")) == ("c1", "fleet-read")
    assert credentials.verify(secret_of("a1")) == ("a1", "fleet-write")


def test_a_profiles_api_key_reaches_its_agent_and_no_command_line(project, tmux_server):
    key = "sk-ant-api03-" + "k" * 40
    with (project.root / "chorus.toml").open("a") as config:
        config.write(f'[profiles.keyed]\nextends = "fake"\nenv = {{ ANTHROPIC_API_KEY = "{key}" }}\n')
    services.session_create("k1", "keyed")
    agent = agent_process("k1")
    assert agent.environ()["ANTHROPIC_API_KEY"] == key
    assert agent.environ()["CHORUS_SESSION"] == "k1"
    assert not any(key in line for line in command_lines())
    assert not any(key in line for line in start_commands(tmux_server))
