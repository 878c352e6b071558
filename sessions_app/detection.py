"""Status detection: from what tmux shows of a pane (and what the agent says of itself) to a status and its reason.

Pure code, no tmux calls: the worker gathers an Observation, `detect` decides, `StatusTracker` keeps the reported
status from flapping. Signals in order of authority: pane dead / agent process gone / a shell in the foreground
-> stopped; the agent's self-report; then the profile's rules over the pane title and the screen, by priority.
What the agent told Chorus through its tools (an open question, progress just reported) outranks an idle or
undecided verdict of those, never a busy or waiting one (a dialog on screen says more than the question).
"""

from __future__ import annotations

import dataclasses
import functools
import re
from dataclasses import dataclass

from sessions_app.profiles import Profile, Region, Rule, Status, command_name, is_shell
from sessions_app.screen import screen_lines, screen_tail
from sessions_app.self_report import SelfReport

__all__ = [
    "AgentSignal",
    "Observation",
    "ProcessInfo",
    "RuleMemo",
    "SelfReport",
    "Status",
    "StatusChange",
    "StatusTracker",
    "Verdict",
    "detect",
    "is_signal",
    "pane_observation",
    "screen_lines",
]


@dataclass(frozen=True)
class ProcessInfo:
    """The agent's process as the caller saw it (psutil)."""

    alive: bool = True
    pid: int | None = None
    cpu_percent: float | None = None


@dataclass(frozen=True)
class AgentSignal:
    """What the agent said through its Chorus tools, as the worker read it: an open question (waiting until it is
    answered) or progress reported since the last look (busy at that moment). `rule` names it, `reason` says it."""

    status: Status
    rule: str
    reason: str


@dataclass(frozen=True)
class Observation:
    """One look at a pane: `tmux capture-pane -p` text and the pane's metadata at that moment."""

    screen: str = ""
    pane_title: str = ""
    pane_current_command: str = ""
    pane_dead: bool = False
    pane_dead_status: int | None = None
    alternate_on: bool = False
    agent_self_report: SelfReport | None = None
    process: ProcessInfo | None = None
    agent_signal: AgentSignal | None = None


def pane_observation(screen: str, pane, **more) -> Observation:
    """An Observation of `screen` with the metadata of `pane` (a tmux PaneInfo), plus any other field."""
    return Observation(
        screen=screen,
        pane_title=pane.title,
        pane_current_command=pane.current_command,
        pane_dead=pane.dead,
        pane_dead_status=pane.dead_status,
        alternate_on=pane.alternate_on,
        **more,
    )


@dataclass(frozen=True)
class Verdict:
    """A status with why: `rule` names the rule or signal that decided, `text` what it saw."""

    status: Status
    reason: str
    rule: str
    signal: str
    text: str = ""
    # a waiting verdict's dialog on screen, quoted: its question and options ("" when none is drawn)
    asked: str = ""


SELF_REPORT_STATUSES = {"idle": Status.IDLE, "busy": Status.BUSY, "waiting": Status.WAITING}

_RULE_LINE = re.compile(r"[─━╌┄═]{8,}")
SHOWN_CHARS = 80
# how many bottom lines a look cuts at once: the built-in rules read at most 25
BOTTOM_DEPTH = 25
FOREGROUND_SHELL = "process.foreground_shell"


class _Regions:
    """The text of each region of one observation, cut once per region."""

    def __init__(self, observation: Observation):
        self.screen = observation.screen
        self.title = observation.pane_title.strip()
        # by the number of lines for bottom regions (most rules read one), else by (kind, lines)
        self._texts: dict[int | tuple[str, int], str] = {}
        self._tail: list[str] = []
        self._tail_read = 0

    @functools.cached_property
    def lines(self) -> list[str]:
        return screen_lines(self.screen)

    def bottom(self, count: int) -> list[str]:
        """The last `count` lines, cut from a tail read once, deep enough for the usual bottom regions."""
        if "lines" in self.__dict__:
            return self.lines[-count:]
        if count > len(self._tail) and self._tail_read < count:
            self._tail_read = max(count, BOTTOM_DEPTH)
            self._tail = screen_tail(self.screen, self._tail_read)
        return self._tail[-count:]

    def text(self, region: Region) -> str:
        kind = region.kind
        if kind == "title":
            return self.title
        key = region.lines if kind == "bottom" else (kind, region.lines)
        text = self._texts.get(key)
        if text is None:
            if kind == "bottom":
                selected = self.bottom(region.lines)
            elif kind == "top":
                selected = self.lines[: region.lines]
            else:
                selected = self.lines
            # A final newline lets multi-line patterns end every line, the last one included, with \n.
            text = self._texts[key] = "\n".join(selected) + "\n" if selected else ""
        return text


class RuleMemo:
    """What each rule found the last time it read one pane, with the text it read: a caller that looks at the same
    pane again passes it to `detect`, and a rule whose region shows the same text is not run again. A busy agent
    redraws its spinner, not the rest: most regions, and most rules, read what they read a tick ago."""

    def __init__(self) -> None:
        # by rule name: the rule, the text it read, its verdict, the words it matched
        self._found: dict[str, tuple[Rule, str, Verdict | None, str]] = {}

    def verdict(self, rule: Rule, text: str) -> Verdict | None:
        """The rule's verdict on `text` (without a dialog's quote), taken from the last look if it read the same."""
        last = self._found.get(rule.name)
        if last is not None and last[0] is rule and last[1] == text:
            return last[2]
        match = rule.search(text)
        if match is None:
            verdict = None
        elif last is not None and last[0] is rule and last[2] is not None and last[3] == match.group(0):
            verdict = last[2]  # the same words matched again (the spinner moved, not the busy marker)
        else:
            verdict = _rule_verdict(rule, match.group(0))
        self._found[rule.name] = (rule, text, verdict, match.group(0) if match is not None else "")
        return verdict


def detect(profile: Profile, observation: Observation, memo: RuleMemo | None = None) -> Verdict:
    """Decide the status of the pane `observation` describes, running `profile`'s program. `memo`: the pane's
    RuleMemo, kept by a caller that looks at it again and again."""
    verdict = _observed(profile, observation, memo or RuleMemo())
    signal = observation.agent_signal
    if signal is not None and verdict.status in (Status.IDLE, Status.UNKNOWN):
        return Verdict(status=signal.status, reason=signal.reason, rule=signal.rule, signal="agent", text=verdict.text)
    return verdict


def _observed(profile: Profile, observation: Observation, memo: RuleMemo) -> Verdict:
    if observation.pane_dead:
        code = observation.pane_dead_status
        detail = f"pane dead (exit {code})" if code is not None else "pane dead"
        return _signal(Status.STOPPED, "pane.dead", "pane", detail)
    process = observation.process
    if process is not None and not process.alive:
        who = f"agent process {process.pid}" if process.pid else "agent process"
        return _signal(Status.STOPPED, "process.gone", "process", f"{who} is gone")
    command = command_name(observation.pane_current_command)
    # After /exit or a SIGKILL the stale screen stays and only the foreground command shows the shell.
    if command and is_shell(command) and not profile.runs(command):
        return _signal(
            Status.STOPPED,
            FOREGROUND_SHELL,
            "process",
            f"foreground command is {command}, not {profile.program}",
            command,
        )
    report = _trusted_self_report(observation)
    if report is not None:
        detail = f"{report.source} says {report.status}" + (f" ({report.waiting_for})" if report.waiting_for else "")
        asked = profile.dialog.describe(screen_lines(observation.screen)) if report.status == "waiting" else ""
        detail += f"; {asked}" if asked else ""
        verdict = _signal(SELF_REPORT_STATUSES[report.status], "self_report", "self_report", detail, report.status)
        return dataclasses.replace(verdict, asked=asked)

    regions = _Regions(observation)
    found = _first_match(profile, regions, memo)
    child_runs = bool(command) and not profile.runs(command) and profile.child_command_status is not None
    # A command running under the shell is busy, unless it asks something (sudo's password, apt's [Y/n]).
    if child_runs and (found is None or found.status is not Status.WAITING):
        status = profile.child_command_status
        mode = " (full-screen)" if observation.alternate_on else ""
        return _signal(
            status,
            "process.foreground_command",
            "process",
            f"foreground command is {command}{mode}, not {profile.program}",
            command,
        )
    if found is not None:
        return found
    return _fallback(profile, observation, regions)


def _signal(status: Status, rule: str, signal: str, detail: str, text: str = "") -> Verdict:
    return Verdict(status=status, reason=f"{rule}: {detail}", rule=rule, signal=signal, text=text)


def _trusted_self_report(observation: Observation) -> SelfReport | None:
    report = observation.agent_self_report
    if report is None or report.status not in SELF_REPORT_STATUSES or report.pid_alive is False:
        return None
    process = observation.process
    # A report about another pid is a leftover of an earlier run in the same place.
    if process is not None and process.pid and report.pid and report.pid != process.pid:
        return None
    return report


def _first_match(profile: Profile, regions: _Regions, memo: RuleMemo) -> Verdict | None:
    for rule in profile.ordered_rules:
        text = regions.text(rule.region)
        if not text:
            continue
        verdict = memo.verdict(rule, text)
        if verdict is None:
            continue
        # A waiting reason says what is asked: the dialog's question and its options, as the page's buttons.
        asked = profile.dialog.describe(regions.lines) if rule.status is Status.WAITING else ""
        return dataclasses.replace(verdict, reason=f"{verdict.reason}; {asked}", asked=asked) if asked else verdict
    return None


def _rule_verdict(rule: Rule, matched: str) -> Verdict:
    shown = _shown(matched)
    signal = "title" if rule.region.kind == "title" else "screen"
    reason = f"rule {rule.name} matched {shown!r} {rule.region.describe()}"
    return Verdict(status=rule.status, reason=reason, rule=rule.name, signal=signal, text=shown)


def _shown(matched: str) -> str:
    """The line of a (possibly multi-line) match worth showing: the first that is neither blank nor a rule."""
    lines = [line.strip(" \t") for line in matched.split("\n")]
    informative = [line for line in lines if line and not _RULE_LINE.search(line)]
    shown = informative[0] if informative else next((line for line in lines if line), "")
    return shown if len(shown) <= SHOWN_CHARS else shown[: SHOWN_CHARS - 1] + "…"


def _fallback(profile: Profile, observation: Observation, regions: _Regions) -> Verdict:
    last = _shown(regions.lines[-1]) if regions.lines else ""
    cpu = observation.process.cpu_percent if observation.process else None
    if cpu is not None and profile.busy_cpu_percent is not None and cpu >= profile.busy_cpu_percent:
        detail = f"no rule matched and {profile.program} uses {cpu:.0f}% CPU"
        return _signal(Status.BUSY, "process.cpu", "process", detail, last)
    if profile.fallback_status is not None:
        detail = profile.fallback_reason or f"no rule matched; profile {profile.name} assumes {profile.fallback_status}"
        return _signal(profile.fallback_status, "profile.fallback", "fallback", detail, last)
    detail = f"no rule of profile {profile.name} matched (last line: {last!r})" if last else "the screen is empty"
    return _signal(Status.UNKNOWN, "no_match", "fallback", detail, last)


# Verdicts that are no signal of the agent: nothing on its screen decided. While an agent boots its screen is blank
# and its CPU busy, so these leave a starting session starting.
NOT_A_SIGNAL = frozenset({"no_match", "profile.fallback", "process.cpu"})


def is_signal(verdict: Verdict) -> bool:
    """Whether the verdict came from a signal of the agent (its screen, title, process or own word), which ends a
    session's start-up; a CPU reading or a fallback does not."""
    return verdict.rule not in NOT_A_SIGNAL


# --- Stabiliser -----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class StatusChange:
    """A reported transition: `since` is when the new status was first seen, `at` when it was confirmed."""

    previous: Status | None
    verdict: Verdict
    since: float
    at: float


class StatusTracker:
    """Turns a stream of timestamped verdicts of one pane into stable transitions.

    Waiting, stopped and busy are reported at once: they are affirmative signals, and a spinner frame or a
    redrawn clock never produces them. Idle seen on the screen after a dialog seen on the screen (or the title) must
    hold for `idle_quiet_seconds`: the input line flashes back for a moment right after a dialog is answered; after
    busy, a usage limit or an agent's question for the shorter
    `busy_quiet_seconds`, enough for a poll that lands between two frames of a spinner (they redraw several times
    a second), so idle from the screen alone is seen within a second; idle in the agent's own self-report is
    reported at once. Unknown must hold
    for `unknown_grace_seconds`, so an undecidable mid-redraw frame changes nothing.
    Stopped because a shell is in the foreground must hold for `launcher_grace_seconds`, first verdict included:
    many agents start through a shell script that then execs them (pyenv's and asdf's shims), so for a moment
    the foreground is a shell although nothing stopped.
    Pure: time comes in with each call, so timelines are tested without sleeping.
    """

    def __init__(
        self,
        idle_quiet_seconds: float = 0.8,
        unknown_grace_seconds: float = 2.0,
        launcher_grace_seconds: float = 2.0,
        busy_quiet_seconds: float = 0.4,
    ):
        self.idle_quiet_seconds = idle_quiet_seconds
        self.busy_quiet_seconds = busy_quiet_seconds
        self.unknown_grace_seconds = unknown_grace_seconds
        self.launcher_grace_seconds = launcher_grace_seconds
        self._verdict: Verdict | None = None
        self._pending: Verdict | None = None
        self._pending_since = 0.0
        self._last_at: float | None = None

    @property
    def verdict(self) -> Verdict | None:
        """The reported verdict (the latest one of the reported status)."""
        return self._verdict

    @property
    def status(self) -> Status | None:
        return self._verdict.status if self._verdict else None

    @property
    def pending_until(self) -> float | None:
        """When a pending change would be confirmed if nothing else arrives: call `tick` then."""
        if self._pending is None:
            return None
        return self._pending_since + self._hold(self._pending)

    def update(self, verdict: Verdict, at: float) -> StatusChange | None:
        """Feed one verdict observed at time `at` (seconds, monotonic); return the transition it confirms."""
        self._advance(at)
        if self._verdict is None and verdict.rule != FOREGROUND_SHELL:
            return self._report(verdict, since=at, at=at)
        if self._verdict is not None and verdict.status is self._verdict.status:
            self._verdict = verdict
            self._pending = None
            return None
        if self._pending is None or self._pending.status is not verdict.status:
            self._pending_since = at
        self._pending = verdict
        return self.tick(at)

    def tick(self, at: float) -> StatusChange | None:
        """Confirm a pending change whose hold time has passed by `at`, without a new observation."""
        self._advance(at)
        pending = self._pending
        # Compared with pending_until's own sum, so a tick at exactly pending_until confirms despite rounding.
        if pending is None or at < self._pending_since + self._hold(pending):
            return None
        return self._report(pending, since=self._pending_since, at=at)

    def _hold(self, verdict: Verdict) -> float:
        status, current = verdict.status, self.status
        if verdict.rule == FOREGROUND_SHELL:
            return self.launcher_grace_seconds
        if status is Status.IDLE and current in (Status.BUSY, Status.WAITING):
            # The agent's own word has no flashing input line nor a poll between two busy frames to wait out.
            if verdict.signal == "self_report":
                return 0.0
            # Only a dialog drawn on screen flashes the input line back when answered; a usage limit or an agent's
            # question ends like a busy spell.
            drawn = current is Status.WAITING and self._verdict.signal in ("screen", "title")
            return self.idle_quiet_seconds if drawn else self.busy_quiet_seconds
        if status is Status.UNKNOWN:
            return self.unknown_grace_seconds
        return 0.0

    def _advance(self, at: float) -> None:
        if self._last_at is not None and at < self._last_at:
            raise ValueError(f"observations must come in time order ({at} after {self._last_at})")
        self._last_at = at

    def _report(self, verdict: Verdict, since: float, at: float) -> StatusChange:
        previous = self.status
        self._verdict = verdict
        self._pending = None
        return StatusChange(previous=previous, verdict=verdict, since=since, at=at)
