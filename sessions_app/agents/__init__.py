"""The built-in agents: one module each with its rules, its composer and dialog rules, its delivery settings, its
self-report plug-in and its tools loader. Generic code reaches them only through these registries and the profiles
they hold."""

from __future__ import annotations

from sessions_app.agents import aider, claude, codex, gemini, shell
from sessions_app.agents.generic import GENERIC_DIALOG_RULES
from sessions_app.profiles import Profile
from sessions_app.self_report import SelfReportPlugin
from sessions_app.tools_loader import ToolsLoader
from sessions_app.usage import UsageReader

BUILTIN_PROFILES: dict[str, Profile] = {
    profile.name: profile for profile in (claude.PROFILE, codex.PROFILE, gemini.PROFILE, aider.PROFILE, shell.PROFILE)
}

SELF_REPORTS: dict[str, SelfReportPlugin] = {plugin.name: plugin for plugin in (claude.SESSION_FILE,)}

TOOLS_LOADERS: dict[str, ToolsLoader] = {
    loader.name: loader for loader in (claude.MCP_CONFIG, codex.MCP_OVERRIDES, gemini.SYSTEM_SETTINGS_FILE)
}

USAGE_READERS: dict[str, UsageReader] = {
    reader.name: reader for reader in (claude.TRANSCRIPT, codex.ROLLOUT, gemini.CHAT_RECORDING)
}

# What a new session runs unless told otherwise.
DEFAULT_PROFILE = claude.PROFILE.name

__all__ = [
    "BUILTIN_PROFILES",
    "DEFAULT_PROFILE",
    "GENERIC_DIALOG_RULES",
    "SELF_REPORTS",
    "TOOLS_LOADERS",
    "USAGE_READERS",
]
