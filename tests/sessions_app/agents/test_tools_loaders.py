"""Each built-in agent's tools loader writes the configuration its CLI reads, in the format its documentation gives,
and the secret goes into private files or the launcher's environment only, never into arguments."""

from __future__ import annotations

import json
import stat
import tomllib
from pathlib import Path

import pytest

from sessions_app.agents import BUILTIN_PROFILES, TOOLS_LOADERS, claude, codex, gemini
from sessions_app.tools_loader import AgentAccess

URL = "http://127.0.0.1:8765/mcp/"
SECRET = "s3cr3t-credential-value_0123456789abcdef"


@pytest.fixture
def access(tmp_path) -> AgentAccess:
    directory = tmp_path / "agents" / "w1"
    directory.mkdir(parents=True, mode=0o700)
    credential = directory / "credential"
    credential.write_text(SECRET)
    return AgentAccess(url=URL, secret=SECRET, credential_file=credential, directory=directory)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_every_agent_with_an_mcp_client_has_a_loader_and_the_others_get_the_twins():
    loaders = {name: profile.tools_loader for name, profile in BUILTIN_PROFILES.items()}
    assert loaders == {
        "claude": TOOLS_LOADERS["claude_mcp_config"],
        "codex": TOOLS_LOADERS["codex_mcp_overrides"],
        "gemini": TOOLS_LOADERS["gemini_system_settings"],
        "aider": None,
        "shell": None,
    }
    assert {profile.agent_tools for profile in BUILTIN_PROFILES.values()} == {"self"}


# --- Claude Code: --mcp-config <file> ----------------------------------------------------------------------------


def test_claude_gets_an_mcp_config_file_beside_its_own_servers(access):
    launch = claude.MCP_CONFIG.launch(access)
    path = access.directory / "claude-mcp.json"
    # code.claude.com/docs/en/cli-reference: --mcp-config loads servers from a JSON file; no --strict-mcp-config,
    # so the user's own servers stay. A rule naming the server allows its tools without a dialog per call.
    assert launch.arguments == ("--mcp-config", str(path), "--allowedTools", "mcp__chorus")
    assert launch.environment == {}
    assert launch.token_variable is None
    # code.claude.com/docs/en/mcp: an HTTP server is {"type": "http", "url": ..., "headers": {...}}.
    assert json.loads(path.read_text()) == {
        "mcpServers": {"chorus": {"type": "http", "url": URL, "headers": {"Authorization": f"Bearer {SECRET}"}}}
    }
    assert mode(path) == 0o600


# --- Codex: -c overrides ------------------------------------------------------------------------------------------


def test_codex_gets_overrides_naming_the_variable_that_holds_the_token(access):
    launch = codex.MCP_OVERRIDES.launch(access)
    flags, values = launch.arguments[::2], launch.arguments[1::2]
    assert set(flags) == {"-c"}
    # openai/codex docs/config.md: `-c key=value` takes a dotted key and a TOML value; a streamable HTTP server
    # is [mcp_servers.<name>] with `url` and `bearer_token_env_var`.
    overrides = {}
    for value in values:
        key, _, toml_value = value.partition("=")
        overrides[key] = tomllib.loads(f"value = {toml_value}")["value"]
    assert overrides == {
        "mcp_servers.chorus.url": URL,
        "mcp_servers.chorus.bearer_token_env_var": "CHORUS_AGENT_TOKEN",
    }
    assert launch.token_variable == "CHORUS_AGENT_TOKEN"
    assert not any(SECRET in part for part in launch.arguments)
    assert sorted(path.name for path in access.directory.iterdir()) == ["credential"]


# --- Gemini CLI: a system settings file of the session's own ------------------------------------------------------


def read_settings(launch) -> tuple[Path, dict]:
    path = Path(launch.environment["GEMINI_CLI_SYSTEM_SETTINGS_PATH"])
    return path, json.loads(path.read_text())


def test_gemini_gets_a_settings_file_with_an_http_server(access):
    launch = gemini.SYSTEM_SETTINGS_FILE.launch(access)
    path, settings = read_settings(launch)
    assert path == access.directory / "gemini-settings.json"
    assert mode(path) == 0o600
    # google-gemini/gemini-cli docs/cli/configuration.md: `httpUrl` is a streamable HTTP server (`url` is SSE),
    # `headers` go with its requests, `trust` bypasses the confirmation of each tool call.
    assert settings["mcpServers"]["chorus"] == {
        "httpUrl": URL,
        "headers": {"Authorization": f"Bearer {SECRET}"},
        "trust": True,
    }
    assert launch.arguments == ()
    assert launch.token_variable is None


def test_gemini_keeps_the_administrators_system_settings_and_servers(access, tmp_path):
    system = tmp_path / "etc-settings.json"
    system.write_text(json.dumps({"general": {"vimMode": True}, "mcpServers": {"corp": {"httpUrl": "https://corp/"}}}))
    launch = gemini.SYSTEM_SETTINGS_FILE.launch(
        AgentAccess(
            URL, SECRET, access.credential_file, access.directory, {"GEMINI_CLI_SYSTEM_SETTINGS_PATH": str(system)}
        )
    )
    _path, settings = read_settings(launch)
    assert settings["general"] == {"vimMode": True}
    assert set(settings["mcpServers"]) == {"corp", "chorus"}
    assert launch.warnings == ()
    assert json.loads(system.read_text())["mcpServers"] == {"corp": {"httpUrl": "https://corp/"}}


@pytest.mark.parametrize("content", ["{not json", "[1, 2]", '{"mcpServers": []}'])
def test_unusable_system_settings_are_left_out_with_a_warning(access, tmp_path, content):
    system = tmp_path / "etc-settings.json"
    system.write_text(content)
    environment = {"GEMINI_CLI_SYSTEM_SETTINGS_PATH": str(system)}
    launch = gemini.SYSTEM_SETTINGS_FILE.launch(
        AgentAccess(URL, SECRET, access.credential_file, access.directory, environment)
    )
    _path, settings = read_settings(launch)
    assert list(settings) == ["mcpServers"]
    assert len(launch.warnings) == 1
    assert str(system) in launch.warnings[0]


def test_the_system_settings_gemini_would_read_without_chorus():
    assert gemini.system_settings_path({}, "linux") == Path("/etc/gemini-cli/settings.json")
    assert gemini.system_settings_path({}, "darwin") == Path("/Library/Application Support/GeminiCli/settings.json")
    assert gemini.system_settings_path({"GEMINI_CLI_SYSTEM_SETTINGS_PATH": "/x.json"}, "linux") == Path("/x.json")
    assert gemini.system_settings_path({}, "win32") is None
