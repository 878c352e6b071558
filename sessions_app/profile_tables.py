"""The shape of a profile table in a profile file (chorus.toml, profiles.toml), validated with pydantic, and its
errors as one line each. Imported only when a profile file exists (sessions_app.catalog): pydantic costs every
command a few hundred milliseconds.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field

from sessions_app.agents import SELF_REPORTS, TOOLS_LOADERS, USAGE_READERS
from sessions_app.dialogs import Dialog
from sessions_app.limits import LimitRule
from sessions_app.profiles import DEFAULT_PRIORITY, Region, Rule, Status
from sessions_app.tmux import ALLOWED_KEYS, environment_script
from sessions_app.tools_loader import CHOICES

SHOULD = re.compile(r"^\w+ should")


def _strings(value: Any) -> Any:
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise ValueError("must be a list of strings")
    return value


def _string_table(value: Any) -> Any:
    if not isinstance(value, dict) or not all(isinstance(item, str) for item in value.values()):
        raise ValueError("must be a table of strings")
    return value


def checked_regex(value: str) -> str:
    """The value, when it is a valid regular expression (a pydantic validator: ValueError saying why)."""
    try:
        re.compile(value)
    except re.error as exc:
        raise ValueError(f"is not a valid regular expression: {exc}") from None
    return value


def _status(value: str) -> str:
    allowed = [status.value for status in Status if status not in (Status.UNKNOWN, Status.STARTING)]
    if value not in allowed:
        raise ValueError(f"must be one of {', '.join(allowed)}, not {value!r}")
    return value


def _region(value: str) -> str:
    Region.parse(value)
    return value


def _markers(value: str) -> str:
    Dialog(markers=value)
    return value


def _plugin(registry: Mapping[str, Any]):
    """A validator of a plug-in's name: one of `registry`, or "" for none."""

    def check(value: str) -> str:
        if value and value not in registry:
            raise ValueError(f'must be one of {", ".join(sorted(registry))} (or "" for none), not {value!r}')
        return value

    return check


def _environment(value: dict[str, str]) -> dict[str, str]:
    environment_script(value)  # what new_session writes for the launcher: refuses a name sh cannot assign
    return value


Strings = Annotated[list[str], BeforeValidator(_strings)]


def _keys(value: list[str]) -> list[str]:
    refused = [key for key in value if key not in ALLOWED_KEYS]
    if refused:
        raise ValueError(f"keys not allowed: {', '.join(refused)}; allowed: {', '.join(sorted(ALLOWED_KEYS))}")
    return value


def _resume(value: list[str]) -> list[str]:
    if value and not any("{conversation}" in part for part in value):
        raise ValueError("must name the conversation: one of its arguments holds '{conversation}'")
    return value


Keys = Annotated[Strings, AfterValidator(_keys)]
Environment = Annotated[dict[str, str], BeforeValidator(_string_table), AfterValidator(_environment)]
Pattern = Annotated[str, AfterValidator(checked_regex)]
StatusName = Annotated[str, AfterValidator(_status)]
Lines = Annotated[int, Field(ge=1)]


class _Table(BaseModel):
    # strict: TOML values are typed, so "5" is no number and true no integer.
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)

    def given(self) -> dict[str, Any]:
        """The keys the file set, as the dataclasses they build take them."""
        given = {key: value for key, value in self if key in self.model_fields_set}
        return {key: tuple(value) if isinstance(value, list) else value for key, value in given.items()}


class RuleTable(_Table):
    name: Annotated[str, Field(min_length=1)]
    status: StatusName
    pattern: Pattern
    region: Annotated[str, AfterValidator(_region)] = "bottom:15"
    priority: int | None = None
    unless: Pattern | None = None
    ignore_case: bool = False

    def rule(self) -> Rule:
        status = Status(self.status)
        priority = DEFAULT_PRIORITY[status] if self.priority is None else self.priority
        return Rule(self.name, status, self.pattern, Region.parse(self.region), priority, self.unless, self.ignore_case)


class LimitTable(_Table):
    name: Annotated[str, Field(min_length=1)]
    # a regular expression; its group `reset` is the reset text
    pattern: Pattern
    lines: Lines = 10
    # the pattern is tried only on text holding one of these (any case); none: always
    words: Strings = []
    # found in the same lines, says the agent goes on by itself at the reset: Chorus then types nothing
    resumes: Pattern = ""

    def limit(self) -> LimitRule:
        return LimitRule(self.name, self.pattern, self.lines, tuple(self.words), self.resumes)


class DeliveryTable(_Table):
    enter_delay: Annotated[float, Field(ge=0)] | None = None
    use_bracketed_paste: bool | None = None
    submit_key: str | None = None
    interrupt_key: str | None = None


class ComposerTable(_Table):
    prompt: Pattern | None = None
    region: Lines | None = None
    above: Pattern | None = None
    below: Pattern | None = None
    continuation: Pattern | None = None
    placeholders: Strings | None = None
    footer: Annotated[int, Field(ge=0)] | None = None
    clears_on_submit: bool | None = None
    clear_keys: Keys | None = None


class DialogTable(_Table):
    markers: Annotated[str, AfterValidator(_markers)] | None = None
    region: Lines | None = None
    question_lines: Lines | None = None
    needs_selection: bool | None = None


class ProfileTable(_Table):
    extends: str | None = None
    description: str | None = None
    command: Strings | None = None
    env: Environment | None = None
    cwd: str | None = None
    process_names: Strings | None = None
    rules: list[RuleTable] = []
    generic_rules: bool | None = None
    delivery: DeliveryTable | None = None
    composer: ComposerTable | None = None
    dialog: DialogTable | None = None
    child_command_status: StatusName | None = None
    fallback_status: StatusName | None = None
    fallback_reason: str | None = None
    busy_cpu_percent: Annotated[float, Field(ge=0)] | None = None
    self_report: Annotated[str, AfterValidator(_plugin(SELF_REPORTS))] | None = None
    # Whether the program is an AI agent that takes tasks (false: a shell or a plain program; dispatch skips it).
    agent: bool | None = None
    agent_tools: Literal[CHOICES] | None = None
    tools_loader: Annotated[str, AfterValidator(_plugin(TOOLS_LOADERS))] | None = None
    # Whether the agent's CLI is configured to load Chorus's MCP server (false: only the `chorus agent` twins).
    mcp: bool | None = None
    # "worktree": each of its sessions works on one task in that task's own git worktree (tasks_app.worktrees).
    isolation: Literal["shared", "worktree"] | None = None
    # usage-limit screens (sessions_app.limits), added to the parent's (one of the same name replaces it)
    limits: list[LimitTable] = []
    # the arguments that resume a conversation, "{conversation}" standing for its id ([] : it cannot)
    resume: Annotated[Strings, AfterValidator(_resume)] | None = None
    # Where the tokens its agent spends are read from (sessions_app.usage), or "" for nowhere.
    usage_reader: Annotated[str, AfterValidator(_plugin(USAGE_READERS))] | None = None


TABLES: dict[tuple, type[_Table]] = {
    (): ProfileTable,
    ("rules", int): RuleTable,
    ("limits", int): LimitTable,
    ("delivery",): DeliveryTable,
    ("composer",): ComposerTable,
    ("dialog",): DialogTable,
}


def describe(error: Mapping[str, Any]) -> str:
    """One pydantic error as `where: 'key' what is wrong`, e.g. `rules[0]: 'status' must be one of ...`."""
    loc = tuple(error["loc"])
    parts: list[str] = []
    for part in loc:
        if isinstance(part, int) and parts:
            parts[-1] += f"[{part}]"
        else:
            parts.append(str(part))
    where, key = parts[:-1], parts[-1]
    kind = error["type"]
    if kind == "extra_forbidden":
        table = TABLES.get(tuple(int if isinstance(part, int) else part for part in loc[:-1]), ProfileTable)
        problem = f"unknown key {key!r} (allowed: {', '.join(sorted(table.model_fields))})"
    elif kind == "missing":
        problem = f"{key!r} is required"
    elif kind == "value_error":
        message = str(error["ctx"]["error"])
        problem = message if message.startswith(key) else f"{key!r} {message}"
    else:
        # pydantic says "Input should be a valid number", "String should have at least 1 character", ...
        must = SHOULD.sub("must", error["msg"], count=1)
        problem = f"{key!r} {must}, not {error['input']!r}"
    return ": ".join([*where, problem])
