"""Starting an agent with Chorus's tools: the launcher, the `chorus` shim, private files, and the profile fields
that choose a tier and a loader (settable in TOML)."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from sessions_app.agents import BUILTIN_PROFILES, TOOLS_LOADERS
from sessions_app.catalog import get_profile
from sessions_app.profiles import Profile, ProfileConfigError
from sessions_app.tools_loader import (
    AgentAccess,
    ToolsLaunch,
    ToolsLoader,
    agent_launch,
    launcher_script,
    shim,
    write_private,
)

SECRET = "s3cr3t-credential-value_0123456789abcdef"


class Loader(ToolsLoader):
    name = "test_loader"

    def __init__(self, launch: ToolsLaunch):
        self.result = launch

    def launch(self, access: AgentAccess) -> ToolsLaunch:
        return self.result


@pytest.fixture
def access(tmp_path) -> AgentAccess:
    directory = tmp_path / "agents" / "w1"
    directory.mkdir(parents=True, mode=0o700)
    credential = write_private(directory / "credential", SECRET)
    return AgentAccess(url="http://127.0.0.1:1/mcp/", secret=SECRET, credential_file=credential, directory=directory)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_the_launcher_puts_the_shim_first_and_execs_the_agent_with_the_loaders_arguments(access):
    loader = Loader(ToolsLaunch(("--flag", "x"), {"AGENT_SETTINGS": "/p"}, warnings=("careful",)))
    launch = agent_launch(loader, ("agent", "--own"), access, "#!/bin/sh\n")
    bin_dir = access.directory / "bin"
    assert launch.command == (
        "/bin/sh",
        "-c",
        launcher_script(None),
        "chorus-agent",
        str(bin_dir),
        "agent",
        "--own",
        "--flag",
        "x",
    )
    assert launch.environment == {"AGENT_SETTINGS": "/p", "CHORUS_AGENT_CREDENTIAL": str(access.credential_file)}
    assert launch.warnings == ("careful",)
    assert (bin_dir / "chorus").read_text() == "#!/bin/sh\n"
    assert mode(bin_dir / "chorus") == 0o700
    assert mode(bin_dir) == 0o700


def test_without_a_loader_only_the_twins_come(access):
    launch = agent_launch(None, (), access, "#!/bin/sh\n")
    assert launch.command[5:] == ()
    assert launch.environment == {"CHORUS_AGENT_CREDENTIAL": str(access.credential_file)}


def test_no_secret_in_the_command_or_the_environment(access):
    launch = agent_launch(Loader(ToolsLaunch(token_variable="AGENT_TOKEN")), ("agent",), access, "#!/bin/sh\n")
    assert not any(SECRET in part for part in launch.command)
    assert not any(SECRET in value for value in launch.environment.values())
    assert 'AGENT_TOKEN="$(cat "${CHORUS_AGENT_CREDENTIAL}")"; export AGENT_TOKEN' in launch.command[2]


def test_a_token_variable_must_be_a_variable_name():
    with pytest.raises(ValueError, match="bad environment variable name"):
        ToolsLaunch(token_variable="X; rm -rf ~")


def test_the_shim_runs_chorus_with_its_settings_whatever_the_directory():
    text = shim({"PROJECT_ROOT": "/home/me/my project", "DJANGO_SETTINGS_MODULE": "s"}, Path("/c/manage.py"), "/v/py")
    assert text.splitlines()[0] == "#!/bin/sh"
    assert (
        text.splitlines()[-1]
        == "PROJECT_ROOT='/home/me/my project' DJANGO_SETTINGS_MODULE=s exec /v/py /c/manage.py \"$@\""
    )


def test_private_files_are_private_even_when_they_existed(tmp_path):
    path = tmp_path / "f"
    path.write_text("old")
    path.chmod(0o644)
    write_private(path, "new")
    assert (path.read_text(), mode(path)) == ("new", 0o600)


@pytest.mark.integration
def test_the_launcher_exports_the_token_from_its_file_and_finds_the_shim(access):
    """The launcher as the pane runs it: the agent (here a Python printing what it got) sees the token in its
    environment, the shim first on PATH, and its own arguments; the secret was on no command line."""
    loader = Loader(ToolsLaunch(("--loaded",), token_variable="AGENT_TOKEN"))
    show = "import os, shutil, sys; print(os.environ['AGENT_TOKEN'], shutil.which('chorus'), sys.argv[1:])"
    launch = agent_launch(loader, (sys.executable, "-c", show, "--own"), access, "#!/bin/sh\necho shim\n")
    env = {"PATH": os.environ["PATH"], **launch.environment}
    result = subprocess.run(launch.command, env=env, capture_output=True, text=True, timeout=30, check=True)
    bin_dir = access.directory / "bin"
    assert result.stdout.split(" ", 2) == [SECRET, str(bin_dir / "chorus"), "['--own', '--loaded']\n"]


# --- The profile's fields, from TOML -------------------------------------------------------------------------------


def test_a_profile_refuses_an_unknown_tier():
    with pytest.raises(ValueError, match="agent tools must be one of self, fleet-read, fleet-write, off"):
        Profile(name="x", command=("x",), agent_tools="all")


def write_project(tmp_path, text: str) -> tuple[Path, dict]:
    root = tmp_path / "project"
    root.mkdir(exist_ok=True)
    (root / "chorus.toml").write_text(textwrap.dedent(text))
    config = tmp_path / "config"
    config.mkdir(exist_ok=True)
    return root, {"XDG_CONFIG_HOME": str(config), "HOME": str(tmp_path)}


def test_toml_sets_the_tier_and_the_loader_and_an_extension_inherits_them(tmp_path):
    root, environ = write_project(
        tmp_path,
        """
        [profiles.claude]
        agent_tools = "fleet-write"

        [profiles.mine]
        extends = "claude"
        command = ["my-claude"]

        [profiles.quiet]
        extends = "codex"
        agent_tools = "off"

        [profiles.bare]
        extends = "gemini"
        tools_loader = ""

        [profiles.other]
        command = ["other-agent"]
        tools_loader = "codex_mcp_overrides"
        """,
    )
    profiles = {name: get_profile(name, root, environ) for name in ("claude", "mine", "quiet", "bare", "other")}
    assert {name: p.agent_tools for name, p in profiles.items()} == {
        "claude": "fleet-write",
        "mine": "fleet-write",
        "quiet": "off",
        "bare": "self",
        "other": "self",
    }
    assert profiles["mine"].tools_loader is BUILTIN_PROFILES["claude"].tools_loader
    assert profiles["bare"].tools_loader is None
    assert profiles["other"].tools_loader is TOOLS_LOADERS["codex_mcp_overrides"]


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ('agent_tools = "all"', "'agent_tools' must be 'self', 'fleet-read', 'fleet-write' or 'off', not 'all'"),
        ("agent_tools = true", "'agent_tools' must be 'self', 'fleet-read', 'fleet-write' or 'off', not True"),
        (
            'tools_loader = "claude_mcp"',
            "'tools_loader' must be one of claude_mcp_config, codex_mcp_overrides, gemini_system_settings "
            "(or \"\" for none), not 'claude_mcp'",
        ),
    ],
)
def test_bad_tool_settings_are_one_line_naming_the_key(tmp_path, table, message):
    root, environ = write_project(tmp_path, f'[profiles.x]\nextends = "claude"\n{table}\n')
    with pytest.raises(ProfileConfigError) as error:
        get_profile("x", root, environ)
    assert str(error.value) == f"{root / 'chorus.toml'}: profiles.x: {message}"


def test_mcp_false_keeps_only_the_twins_and_mcp_true_keeps_the_loader(tmp_path):
    root, environ = write_project(
        tmp_path,
        """
        [profiles.twins]
        extends = "claude"
        mcp = false

        [profiles.wired]
        extends = "codex"
        mcp = true
        """,
    )
    twins, wired = get_profile("twins", root, environ), get_profile("wired", root, environ)
    assert (twins.agent_tools, twins.tools_loader) == ("self", None)
    assert wired.tools_loader is BUILTIN_PROFILES["codex"].tools_loader


def test_mcp_true_for_a_program_without_a_loader_is_one_line(tmp_path):
    root, environ = write_project(tmp_path, '[profiles.unwired]\ncommand = ["my-agent"]\nmcp = true\n')
    with pytest.raises(ProfileConfigError) as error:
        get_profile("unwired", root, environ)
    assert str(error.value) == (
        f"{root / 'chorus.toml'}: profiles.unwired: 'mcp = true' needs a tools loader: this profile's program has "
        "none (set 'tools_loader')"
    )
