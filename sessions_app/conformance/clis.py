"""The agent CLIs the kit knows: which npm package and version is pinned, where the cache keeps it, and how to run
each one offline against its stand-in in a throw-away HOME (the config files and variables each needs so that no
first-run screen asks a human; see design.md "The conformance kit").

The cache is `$CHORUS_AGENT_CLIS` (default `~/.cache/chorus/agent-clis`); a pinned CLI lives in
`<cache>/<package>@<version>/node_modules`, installed with `npm install --prefix`.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from sessions_app.conformance.anthropic import Anthropic
from sessions_app.conformance.gemini import Gemini
from sessions_app.conformance.openai import OpenAIResponses
from sessions_app.conformance.standin import Vendor

CACHE_VARIABLE = "CHORUS_AGENT_CLIS"
# A key of the form each CLI accepts; the stand-in checks none.
FAKE_KEY = "sk-ant-kit-0000000000000000000000000000"
OAUTH_TOKEN = "sk-ant-oat01-kit0000000000000000000000000000000000000000"  # noqa: S105  -- the stand-in checks none


class CliMissing(Exception):
    """The CLI is neither installed nor in the cache; the message says how to get it in one line."""


def cache_dir(environ: dict[str, str] | None = None) -> Path:
    environ = os.environ if environ is None else environ
    return Path(environ.get(CACHE_VARIABLE) or Path.home() / ".cache" / "chorus" / "agent-clis").expanduser()


@dataclass(frozen=True)
class Cli:
    """One agent CLI. `prepare(home, project, url)` writes its config into the throw-away HOME and returns the
    variables it needs."""

    profile: str
    package: str
    version: str
    binary: str
    vendor: Callable[[], Vendor]
    prepare: Callable[[Path, Path, str], dict[str, str]]
    # Why the CLI cannot be asked a question in its default mode, if it cannot.
    no_questions: str = ""
    # Its file tools ask Chorus before an edit (a pre-edit hook: the profile's self-report plug-in reads it).
    guards_edits: bool = False
    # What it does at a plan's usage limit, as the kit's step expects it: "chorus" (it shows the reset and waits:
    # Chorus types its continue message at the reset plus the margin), "itself" (it shows the reset and goes on by
    # itself then), "unreadable" (it shows no reset: Chorus waits with its words, and types nothing).
    limit_resume: str = "chorus"

    @property
    def spec(self) -> str:
        return f"{self.package}@{self.version}"

    def prefix(self, cache: Path | None = None) -> Path:
        return (cache or cache_dir()) / self.spec

    def pinned(self, cache: Path | None = None) -> Path | None:
        """The pinned CLI's executable in the cache, if it is there."""
        path = self.prefix(cache) / "node_modules" / ".bin" / self.binary
        return path if path.exists() else None

    def find(self, use_installed: bool = True, cache: Path | None = None) -> Path:
        """The pinned CLI from the cache, else (with `use_installed`) the one on PATH."""
        pinned = self.pinned(cache)
        if pinned is not None:
            return pinned
        installed = shutil.which(self.binary) if use_installed else None
        if installed:
            return Path(installed)
        raise CliMissing(
            f"{self.binary} is not installed and {self.spec} is not in the cache ({cache or cache_dir()}): "
            f"run `chorus conformance {self.profile} --install` (npm install --prefix {self.prefix(cache)} {self.spec})"
        )

    def version_of(self, executable: Path) -> str:
        try:
            done = subprocess.run([str(executable), "--version"], capture_output=True, text=True, timeout=60)
        except (OSError, subprocess.TimeoutExpired) as exc:
            return f"unknown ({exc})"
        return (done.stdout.strip() or done.stderr.strip()).splitlines()[0] if (done.stdout or done.stderr) else ""


def install(cli: Cli, cache: Path | None = None) -> Path:
    """`npm install --prefix <cache>/<package>@<version> <package>@<version>`, once."""
    if cli.pinned(cache) is not None:
        return cli.pinned(cache)
    npm = shutil.which("npm")
    if npm is None:
        raise CliMissing(f"npm is not installed, so {cli.spec} cannot be installed (install Node.js and npm)")
    prefix = cli.prefix(cache)
    prefix.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(
        [npm, "install", "--prefix", str(prefix), "--no-audit", "--no-fund", "--loglevel=error", cli.spec],
        capture_output=True,
        text=True,
    )
    if done.returncode != 0 or cli.pinned(cache) is None:
        last = (done.stderr.strip().splitlines() or ["no output"])[-1]
        raise CliMissing(f"npm install {cli.spec} failed: {last}")
    return cli.pinned(cache)


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def prepare_claude(home: Path, project: Path, url: str) -> dict[str, str]:
    state = {
        "hasCompletedOnboarding": True,
        "lastOnboardingVersion": "2.1.330",
        "numStartups": 1,
        "theme": "dark",
        "hasSeenAutoDefaultNudge": True,
        "customApiKeyResponses": {"approved": [FAKE_KEY[-20:]], "rejected": []},
        "projects": {str(project): {"hasTrustDialogAccepted": True, "hasCompletedProjectOnboarding": True}},
    }
    _write(home / ".claude.json", json.dumps(state))
    settings = {"permissions": {"defaultMode": "default"}, "tui": "fullscreen"}
    _write(home / ".claude" / "settings.json", json.dumps(settings))
    # Logged in to a plan (a long-lived OAuth token, as `claude setup-token` makes), not an API key: only then does
    # it read a usage-limit refusal as a plan's limit with its reset.
    return {
        "ANTHROPIC_BASE_URL": url,
        "CLAUDE_CODE_OAUTH_TOKEN": OAUTH_TOKEN,
        "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1",
        "DISABLE_AUTOUPDATER": "1",
        "DISABLE_TELEMETRY": "1",
        "DISABLE_ERROR_REPORTING": "1",
        "CHORUS_CLAUDE_SESSIONS_DIR": str(home / ".claude" / "sessions"),
    }


def prepare_codex(home: Path, project: Path, url: str) -> dict[str, str]:
    codex_home = home / ".codex"
    # A provider of the kit's own: the built-in one prefers a websocket, retried five times before HTTP.
    config = f"""model = "gpt-5-codex"
model_provider = "kit"
approval_policy = "on-request"
sandbox_mode = "workspace-write"
check_for_update_on_startup = false

[model_providers.kit]
name = "Chorus kit stand-in"
base_url = "{url}/v1"
wire_api = "responses"
requires_openai_auth = true
supports_websockets = false

[analytics]
enabled = false

[features]
daemon_auto_start = false

[tui]
screen_reader_detection_done = true

[projects."{project}"]
trust_level = "trusted"
"""
    _write(codex_home / "config.toml", config)
    _write(codex_home / "auth.json", json.dumps({"auth_mode": "apikey", "OPENAI_API_KEY": FAKE_KEY}))
    tmp = home / "tmp"
    tmp.mkdir(parents=True, exist_ok=True)
    return {"CODEX_HOME": str(codex_home), "TMPDIR": str(tmp)}


def prepare_gemini(home: Path, project: Path, url: str) -> dict[str, str]:
    settings = {
        "security": {"auth": {"selectedType": "gemini-api-key"}},
        "general": {"enableAutoUpdate": False, "enableAutoUpdateNotification": False},
        "privacy": {"usageStatisticsEnabled": False},
        "telemetry": {"enabled": False},
        "ui": {"useAlternateBuffer": False},
    }
    _write(home / ".gemini" / "settings.json", json.dumps(settings))
    _write(home / ".gemini" / "trustedFolders.json", json.dumps({str(project): "TRUST_FOLDER"}))
    return {"GEMINI_API_KEY": FAKE_KEY, "GOOGLE_GEMINI_BASE_URL": url, "GEMINI_TELEMETRY_ENABLED": "false"}


CLIS: dict[str, Cli] = {
    cli.profile: cli
    for cli in (
        Cli(
            "claude",
            "@anthropic-ai/claude-code",
            "2.1.330",
            "claude",
            Anthropic,
            prepare_claude,
            guards_edits=True,
            limit_resume="itself",
        ),
        Cli(
            "codex",
            "@openai/codex",
            "0.169.0",
            "codex",
            OpenAIResponses,
            prepare_codex,
            no_questions="Codex offers request_user_input in Plan mode only",
        ),
        Cli("gemini", "@google/gemini-cli", "0.61.0", "gemini", Gemini, prepare_gemini, limit_resume="unreadable"),
    )
}
