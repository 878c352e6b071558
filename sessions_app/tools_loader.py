"""Loading Chorus's tools into an agent: what starting a session with tools adds to its command and environment.

A profile says which tier its agents get (`agent_tools`: self, fleet-read, fleet-write or off) and names its tools
loader (`tools_loader = "<name>"`, registered in sessions_app.agents.TOOLS_LOADERS): the plug-in that points the
agent's own MCP client at Chorus's server (a config file, flags, an environment variable), in the format that
agent reads. Whatever the loader, every session with tools gets its credential file's path in
CHORUS_AGENT_CREDENTIAL and a `chorus` command on its PATH (the CLI twins, for agents without an MCP client).

The secret never reaches argv or tmux's command line: it goes into files of mode 0600 in the session's private
directory, or into the agent's environment through a launcher that reads it from its file.
"""

from __future__ import annotations

import os
import re
import shlex
import sys
from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

TIERS = ("self", "fleet-read", "fleet-write")
OFF = "off"
CHOICES = (*TIERS, OFF)

# What each agent's MCP client calls Chorus's server.
SERVER_NAME = "chorus"
CREDENTIAL_VARIABLE = "CHORUS_AGENT_CREDENTIAL"
LAUNCHER = "/bin/sh"
# The launcher's $0: what `ps` shows for it until it execs the agent.
LAUNCHER_NAME = "chorus-agent"
VARIABLE_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def check_tier(tier: str) -> str:
    if tier not in CHOICES:
        raise ValueError(f"agent tools must be one of {', '.join(CHOICES)}, not {tier!r}")
    return tier


@dataclass(frozen=True)
class AgentAccess:
    """What a loader is handed: Chorus's MCP endpoint, the session's credential and its private directory (0700),
    and the environment the agent starts with otherwise (Chorus's own and its profile's).

    `secret` may be written only into files of mode 0600 inside `directory`; `credential_file` holds it already.
    """

    url: str
    secret: str = field(repr=False)
    credential_file: Path
    directory: Path
    environment: Mapping[str, str] = field(default_factory=dict, repr=False)


@dataclass(frozen=True)
class ToolsLaunch:
    """What a loader adds to the agent's start: arguments after its command, environment (no secret in either:
    tmux shows both), and the name of a variable the launcher sets to the secret read from its file."""

    arguments: tuple[str, ...] = ()
    environment: Mapping[str, str] = field(default_factory=dict)
    token_variable: str | None = None
    warnings: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.token_variable is not None and not VARIABLE_NAME.match(self.token_variable):
            raise ValueError(f"bad environment variable name {self.token_variable!r}")


class ToolsLoader(ABC):
    """name: what a profile's `tools_loader` says."""

    name: str

    @abstractmethod
    def launch(self, access: AgentAccess) -> ToolsLaunch:
        """Write the agent's MCP configuration into `access.directory` if it needs a file; say what to add."""

    def __repr__(self) -> str:
        return f"<tools loader {self.name}>"


@dataclass(frozen=True)
class AgentLaunch:
    """The pane's argv and the environment to add, with the tools loaded."""

    command: tuple[str, ...]
    environment: Mapping[str, str]
    warnings: tuple[str, ...] = ()


def write_private(path: Path, text: str, mode: int = 0o600) -> Path:
    """Write `text` into `path`, readable by this user alone from the first byte (the mode is set at creation,
    and again in case the file existed)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        os.fchmod(handle.fileno(), mode)
        handle.write(text)
    return path


def shim(environment: Mapping[str, str], manage_py: Path, python: str = sys.executable) -> str:
    """A `chorus` command for the pane: Chorus's own Python runs manage.py with the settings that find this
    Chorus's database, whatever the pane's directory; nothing of Chorus's virtualenv lands on the agent's PATH."""
    assignments = " ".join(f"{key}={shlex.quote(value)}" for key, value in environment.items())
    return (
        "#!/bin/sh\n"
        "# Chorus's command line for the agent in this pane (`chorus agent ...`), written by Chorus at launch.\n"
        f'{assignments} exec {shlex.quote(python)} {shlex.quote(str(manage_py))} "$@"\n'
    )


def launcher_script(token_variable: str | None) -> str:
    """The launcher the pane runs: $1 is the shim's directory, the rest the agent's argv (none: the user's shell).

    The secret is read from the credential file inside the pane, so only the file's path is on any command line."""
    lines = ['PATH="$1:$PATH"', "export PATH", "shift"]
    if token_variable is not None:
        lines += [f'{token_variable}="$(cat "${{{CREDENTIAL_VARIABLE}}}")"', f"export {token_variable}"]
    lines += ['[ "$#" -gt 0 ] || set -- "${SHELL:-/bin/sh}"', 'exec "$@"']
    return "; ".join(lines)


def agent_launch(
    loader: ToolsLoader | None,
    command: tuple[str, ...],
    access: AgentAccess,
    shim_text: str,
) -> AgentLaunch:
    """The agent's start with Chorus's tools: the loader's arguments and environment, the credential's path, and
    the launcher that puts the `chorus` shim (`shim_text`) first on PATH before it execs the agent."""
    loaded = loader.launch(access) if loader is not None else ToolsLaunch()
    bin_dir = access.directory / "bin"
    bin_dir.mkdir(mode=0o700, exist_ok=True)
    write_private(bin_dir / "chorus", shim_text, mode=0o700)
    argv = (
        LAUNCHER,
        "-c",
        launcher_script(loaded.token_variable),
        LAUNCHER_NAME,
        str(bin_dir),
        *command,
        *loaded.arguments,
    )
    environment = {**loaded.environment, CREDENTIAL_VARIABLE: str(access.credential_file)}
    return AgentLaunch(argv, environment, loaded.warnings)
