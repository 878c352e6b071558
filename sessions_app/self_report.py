"""Self-report plug-ins: what an agent says of its own state, outranking what its screen shows.

A profile names its plug-in (`self_report = "<name>"`); the plug-ins are registered by name in
sessions_app.agents.SELF_REPORTS. A plug-in provides what to add when the agent starts (arguments, environment,
its hook directory), a reader of the agent's state reports, the agent's hook payloads read as signals, how a
delivery confirmed by the agent itself is named, and, for an agent whose hooks can refuse a file change before it
happens, how to read such a hook's question and answer it (path claims, `chorus agent pre-edit`). Generic code
reaches it only through the profile.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, Protocol


@dataclass(frozen=True)
class SelfReport:
    """What the agent says of its own state, already read by the caller (a plug-in's reader).

    pid_alive: whether the pid the report belongs to still runs (None: not checked). A report left behind by a
    killed process may say idle forever, so a report from a dead pid is ignored.
    """

    status: str
    waiting_for: str = ""
    pid: int | None = None
    pid_alive: bool | None = None
    source: str = "agent self-report"
    # the agent's own id of the conversation it works in, when its report says (a restart can resume it)
    conversation: str = ""


@dataclass(frozen=True)
class Launch:
    """What starting the agent takes besides its profile's command: more arguments, environment, warnings to log."""

    arguments: tuple[str, ...] = ()
    environment: Mapping[str, str] = field(default_factory=dict)
    warnings: tuple[str, ...] = ()


@dataclass(frozen=True)
class Signal:
    """One hook payload as the worker needs it: a prompt the agent accepted (its text), an error to tell a person
    about, or just activity (look at the screen now)."""

    kind: Literal["prompt_accepted", "error", "activity"]
    text: str = ""


@dataclass(frozen=True)
class EditRequest:
    """A file change an agent's pre-edit hook asks about: the tool, the file as the agent named it, and the agent's
    working directory (against which a relative path is read)."""

    tool: str
    path: str
    cwd: str = ""


@dataclass(frozen=True)
class PermissionAsk:
    """What an agent's permission hook asks to do: the tool, its command text (a shell tool), the files it names as
    given, and the agent's working directory."""

    tool: str
    command: str = ""
    files: tuple[str, ...] = ()
    cwd: str = ""


@dataclass(frozen=True)
class FileWrite:
    """A file the agent's own file tool wrote (a hook said so): the path as the tool was given it, and the agent's
    working directory then (a relative path is relative to it)."""

    path: str
    cwd: str = ""


@dataclass(frozen=True)
class Readiness:
    """One thing a setup check (chorus_site/doctor.py) says of a plug-in's signals: whether it works, what was
    found, and what to do when it does not."""

    ok: bool
    detail: str
    advice: str = ""


class SignalCheck(Protocol):
    """Whether a profile's signals other than a self-report (its pane title) are on for an agent run with
    `environment` (a setting of the agent's own can turn them off): lines for the setup check."""

    def __call__(self, environment: Mapping[str, str]) -> list[Readiness]: ...


class Reader(Protocol):
    """Finds the reports of the agents running in the panes it is told about; one per worker and plug-in."""

    def refresh(self, pane_pids: set[int]) -> None:
        """Called once per poll with the pids of the panes whose profiles use this plug-in."""

    def report(self, pane_pid: int | None) -> SelfReport | None:
        """The current report of the agent under that pane, if it keeps one."""


class SelfReportPlugin(ABC):
    """name: what a profile's `self_report` says. confirmation: an Outcome's confirmed_by when the agent itself
    reported a prompt accepted."""

    name: str
    confirmation: str

    @abstractmethod
    def launch(self, hook_dir: Path, environment: Mapping[str, str] | None = None) -> Launch:
        """Prepare `hook_dir` (emptied, private to the session) and say what to add to the agent's start.
        `environment`: what the agent runs with (Profile.agent_environment; None: Chorus's own), where its
        settings are found."""

    @abstractmethod
    def reader(self, environment: Mapping[str, str] | None = None) -> Reader:
        """A new reader of the reports of agents that run with `environment` (as for launch)."""

    @abstractmethod
    def signals(self, hook_dir: Path) -> list[Signal]:
        """The hook payloads written into `hook_dir` since the last call, oldest first; each is consumed."""

    def files_written(self, hook_dir: Path) -> list[FileWrite]:
        """The files the agent's file tools wrote since the last call, oldest first; each record is consumed. None
        by default: the agent's hooks do not say, so git alone attributes its changes (tasks_app.changes)."""
        return []

    def readiness(self, environment: Mapping[str, str]) -> list[Readiness]:
        """Whether this plug-in's signals can work for an agent run with `environment` (none to say by default)."""
        return []

    def edit_request(self, payload: object) -> EditRequest | None:
        """The file change a payload of the agent's pre-edit hook asks about (the hook's input, parsed JSON); None
        when it asks about none, or the agent has no such hook (the default)."""
        return None

    def edit_refusal(self, reason: str) -> str:
        """What the pre-edit hook prints to refuse the change, with the reason the agent reads."""
        raise NotImplementedError(f"{self.name} has no pre-edit hook")

    def permission_request(self, payload: object) -> PermissionAsk | None:
        """What a payload of the agent's permission hook asks to do; None when it asks nothing, or the agent has no
        such hook (the default: its dialog is answered on screen, if at all)."""
        return None

    def permission_answer(self, decision: str, reason: str) -> str:
        """What the permission hook prints for `decision` (allow, deny; ask prints nothing: the dialog opens)."""
        raise NotImplementedError(f"{self.name} has no permission hook")

    def __repr__(self) -> str:
        return f"<self-report plug-in {self.name}>"
