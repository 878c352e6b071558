"""Which profiles Chorus knows: the built-in agents and the user's, read from TOML files and validated with pydantic
(sessions_app/profile_tables.py).

User profiles come from `$XDG_CONFIG_HOME/chorus/profiles.toml`, then `chorus.toml` in PROJECT_ROOT (a later
file's profile replaces an earlier one's). A profile may `extends` another (built-in or user) and replace or add
rules, composer, dialog and delivery settings, and choose its tools (`agent_tools`, `tools_loader`); one named like
a built-in customises it. A file that cannot be used
raises ProfileConfigError: one line naming the file, the profile and the key.
"""

from __future__ import annotations

import os
import re
import threading
import tomllib
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sessions_app.agents import BUILTIN_PROFILES, GENERIC_DIALOG_RULES, SELF_REPORTS, TOOLS_LOADERS, USAGE_READERS
from sessions_app.composer import Composer
from sessions_app.limits import LimitRule
from sessions_app.profiles import Profile, ProfileConfigError, Status, UnknownProfile, command_name
from sessions_app.stamps import recently

if TYPE_CHECKING:
    from sessions_app.profile_tables import ComposerTable, ProfileTable

PROFILE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,39}$")


# --- Reading the files ----------------------------------------------------------------------------------------


def profile_files(project_root: Path, environ: Mapping[str, str] | None = None) -> list[Path]:
    """The user profile files in the order they apply: a later file's profile replaces an earlier one's."""
    environ = os.environ if environ is None else environ
    config_home = Path(environ.get("XDG_CONFIG_HOME") or Path(environ.get("HOME", "~")).expanduser() / ".config")
    return [config_home / "chorus" / "profiles.toml", Path(project_root) / "chorus.toml"]


_cache: dict[tuple, dict[str, Profile]] = {}
_cache_lock = threading.Lock()


def load_profiles(project_root: Path, environ: Mapping[str, str] | None = None) -> dict[str, Profile]:
    """Built-in profiles plus the user's, by name. Raises ProfileConfigError for a file that cannot be used.

    Read again only when a file's stamp changed (pages and the API ask often), and always while a stamp is too
    recent to prove that nothing changed since."""
    files = profile_files(project_root, environ)
    stamps = tuple(_stamp(path) for path in files)
    key = (tuple(files), stamps)
    trusted = all(stamp is None or not recently(stamp[0]) for stamp in stamps)
    with _cache_lock:
        if trusted and key in _cache:
            return dict(_cache[key])
    profiles = _load(files)
    if trusted:
        with _cache_lock:
            _cache.clear()
            _cache[key] = profiles
    return dict(profiles)


def get_profile(name: str, project_root: Path, environ: Mapping[str, str] | None = None) -> Profile:
    profiles = load_profiles(project_root, environ)
    try:
        return profiles[name]
    except KeyError:
        raise UnknownProfile(name, profiles) from None


def _stamp(path: Path) -> tuple[int, int, int] | None:
    try:
        info = os.stat(path)
    except OSError:
        return None
    return (info.st_mtime_ns, info.st_size, info.st_ino)


def _load(files: list[Path]) -> dict[str, Profile]:
    definitions: dict[str, tuple[Path, ProfileTable]] = {}
    for path in files:
        for name, table in _read_profile_tables(path).items():
            definitions[name] = (path, table)
    profiles = dict(BUILTIN_PROFILES)
    resolved: dict[str, Profile] = {}
    for name in definitions:
        profiles[name] = _resolve(name, definitions, resolved, ())
    return profiles


def _read_profile_tables(path: Path) -> dict[str, ProfileTable]:
    try:
        with path.open("rb") as handle:
            data = tomllib.load(handle)
    except FileNotFoundError:
        return {}
    except OSError as exc:
        raise ProfileConfigError(f"{path}: cannot read: {exc.strerror}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ProfileConfigError(f"{path}: invalid TOML: {exc}") from None
    # chorus.toml may hold other settings too; profiles are the [profiles.NAME] tables.
    tables = data.get("profiles", {})
    if not isinstance(tables, dict):
        raise ProfileConfigError(f"{path}: 'profiles' must be a table of [profiles.NAME] tables")
    from pydantic import ValidationError

    from sessions_app.profile_tables import ProfileTable, describe

    validated = {}
    for name, table in tables.items():
        if not PROFILE_NAME.fullmatch(name):
            raise ProfileConfigError(
                f"{path}: invalid profile name {name!r}: use letters, digits, '.', '-' or '_' (at most 40)"
            )
        if not isinstance(table, dict):
            raise ProfileConfigError(f"{path}: profiles.{name} must be a table")
        try:
            validated[name] = ProfileTable.model_validate(table)
        except ValidationError as exc:
            raise ProfileConfigError(f"{path}: profiles.{name}: {describe(exc.errors()[0])}") from None
    return validated


def _resolve(
    name: str,
    definitions: dict[str, tuple[Path, ProfileTable]],
    resolved: dict[str, Profile],
    chain: tuple[str, ...],
) -> Profile:
    if name in resolved:
        return resolved[name]
    path, table = definitions[name]
    where = f"{path}: profiles.{name}"
    if name in chain:
        raise ProfileConfigError(f"{where}: 'extends' loops: {' -> '.join((*chain, name))}")
    # A user profile named like a built-in customises that built-in.
    parent_name = table.extends if table.extends is not None else name if name in BUILTIN_PROFILES else None
    parent = None
    if parent_name is not None:
        if parent_name in definitions and parent_name != name:
            parent = _resolve(parent_name, definitions, resolved, (*chain, name))
        elif parent_name in BUILTIN_PROFILES:
            parent = BUILTIN_PROFILES[parent_name]
        else:
            known = sorted({*BUILTIN_PROFILES, *definitions} - {name})
            raise ProfileConfigError(f"{where}: extends unknown profile {parent_name!r} (known: {', '.join(known)})")
    try:
        profile = _build(name, table, parent)
    except ValueError as exc:
        raise ProfileConfigError(f"{where}: {exc}") from None
    resolved[name] = profile
    return profile


def _build(name: str, table: ProfileTable, parent: Profile | None) -> Profile:
    rules = tuple(rule.rule() for rule in table.rules)
    if parent is None:
        if table.command is None:
            raise ValueError("'command' is required (a list of strings) unless the profile extends another")
        if table.generic_rules is not False:
            rules = (*rules, *GENERIC_DIALOG_RULES)
        base = Profile(name=name, command=())
    else:
        if table.generic_rules is not None:
            raise ValueError("'generic_rules' applies only to a profile that extends none (it inherits them)")
        # A rule with an inherited rule's name replaces it; new rules are added.
        own = {rule.name: rule for rule in rules}
        rules = (*(own.pop(rule.name, rule) for rule in parent.rules), *own.values())
        base = parent
    command = tuple(table.command) if table.command is not None else base.command
    if table.process_names is not None:
        process_names = tuple(table.process_names)
    elif parent is not None and _program(command) != _program(parent.command):
        process_names = ()  # another program: Profile defaults to its own name
    else:
        process_names = base.process_names
    self_report = base.self_report
    if table.self_report is not None:
        self_report = SELF_REPORTS[table.self_report] if table.self_report else None
    tools_loader = base.tools_loader
    if table.tools_loader is not None:
        tools_loader = TOOLS_LOADERS[table.tools_loader] if table.tools_loader else None
    usage_reader = base.usage_reader
    if table.usage_reader is not None:
        usage_reader = USAGE_READERS[table.usage_reader] if table.usage_reader else None
    if table.mcp is False:
        tools_loader = None
    elif table.mcp and tools_loader is None:
        raise ValueError("'mcp = true' needs a tools loader: this profile's program has none (set 'tools_loader')")
    return Profile(
        name=name,
        command=command,
        description=_or(table.description, base.description),
        environment={**base.environment, **(table.env or {})},
        cwd=_or(table.cwd, base.cwd),
        rules=rules,
        process_names=process_names,
        child_command_status=_status_or(table.child_command_status, base.child_command_status),
        fallback_status=_status_or(table.fallback_status, base.fallback_status),
        fallback_reason=_or(table.fallback_reason, base.fallback_reason),
        busy_cpu_percent=_or(table.busy_cpu_percent, base.busy_cpu_percent),
        composer=_composer(table.composer, base.composer),
        dialog=replace(base.dialog, **table.dialog.given()) if table.dialog else base.dialog,
        permission_screen=base.permission_screen,
        self_report=self_report,
        signal_check=base.signal_check,
        delivery=replace(base.delivery, **table.delivery.given()) if table.delivery else base.delivery,
        agent=_or(table.agent, base.agent),
        agent_tools=_or(table.agent_tools, base.agent_tools),
        tools_loader=tools_loader,
        isolation=_or(table.isolation, base.isolation),
        limits=_limits(table, base),
        resume=tuple(table.resume) if table.resume is not None else base.resume,
        conversation_finder=base.conversation_finder,
        usage_reader=usage_reader,
        extends=parent.name if parent else None,
    )


def _limits(table: ProfileTable, base: Profile) -> tuple[LimitRule, ...]:
    own = {limit.name: limit.limit() for limit in table.limits}
    return (*(own.pop(limit.name, limit) for limit in base.limits), *own.values())


def _composer(table: ComposerTable | None, base: Composer | None) -> Composer | None:
    if table is None:
        return base
    if base is not None:
        return replace(base, **table.given())
    if table.prompt is None:
        raise ValueError("composer: 'prompt' is required unless the profile extends one with a composer")
    return Composer(**table.given())


def _or(value: Any, default: Any) -> Any:
    return default if value is None else value


def _status_or(value: str | None, default: Status | None) -> Status | None:
    return default if value is None else Status(value)


def _program(command: tuple[str, ...]) -> str:
    return command_name(command[0]) if command else ""
