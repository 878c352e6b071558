"""Typing a prompt into an agent and proving that it was really submitted, without ever submitting twice.

The text is typed once (literally, or as one bracketed paste when it has line breaks or is long), Enter follows
after the profile's delay, and the submit counts only when it is proven: the agent went busy (or straight into a
dialog), it stopped (a prompt such as /exit ends it), its input line emptied after showing the text (read with the
profile's composer rule), or the agent itself said so (its self-report plug-in). A screen that merely changed is no
proof. Without proof Enter is pressed again, a bounded number of times.

The text is typed again only when the agent visibly dropped it before any Enter: its input line (one that empties
on submit, so never a shell's) stayed empty while the agent sat idle. Gemini CLI resumed with `--resume` draws its
input box and ignores keys for some seconds; keys it never read cannot be submitted twice.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable

from sessions_app import tmux as tmux_adapter
from sessions_app.detection import detect, pane_observation
from sessions_app.profiles import Profile, Status

PASTE_OVER_CHARS = 200


def unsent(profile: Profile, screen: str) -> str | None:
    """The text in the agent's input line, where that line tells whether a submit took: "" when empty, None when
    no input line shows or when the profile's input keeps showing what was submitted (a shell's command line)."""
    if profile.composer is None or not profile.composer.clears_on_submit:
        return None
    return profile.draft(screen)


DRAFT_SHOWN_CHARS = 60


def held_reason(draft: str) -> str:
    """Why a queued message waits for an idle agent whose input line holds `draft`: it is never typed over."""
    shown = " ".join(draft.split())
    if len(shown) > DRAFT_SHOWN_CHARS:
        shown = shown[: DRAFT_SHOWN_CHARS - 1] + "…"
    return f'input has a draft: "{shown}"'


def same_prompt(typed: str, reported: str) -> bool:
    """Whether the prompt an agent reported accepting is the text typed into it: compared without regard to line
    endings and runs of whitespace, which the agent's input line and its report may redraw (a paste's line breaks
    arrive as CR, a TUI trims and wraps). The self-report plug-in has already removed its agent's own wrapping."""
    return " ".join(typed.split()) == " ".join(reported.split())


@dataclasses.dataclass(frozen=True)
class Outcome:
    delivered: bool
    attempts: int
    confirmed_by: str = ""
    reason: str = ""


@dataclasses.dataclass
class Typist:
    """Delivers one text into one pane. Clock and sleep are injectable so the logic is testable without tmux."""

    adapter: tmux_adapter.Tmux
    pane_id: str
    profile: Profile
    confirm_seconds: float = 3.0
    max_enters: int = 3
    poll_seconds: float = 0.05
    clock: Callable[[], float] = time.monotonic
    sleep: Callable[[float], None] = time.sleep
    # whether the agent's self-report plug-in heard it accept the prompt (e.g. from its hooks)
    accepted: Callable[[], bool] | None = None
    # an input line still empty this long after the typing: the agent dropped the keys
    echo_seconds: float = 1.5
    # a dropped text is typed again until this long after its first typing
    retype_seconds: float = 30.0

    def _look(self) -> tuple[str, Status]:
        """The pane's screen and its status, from the screen and the pane's metadata (a dead pane or a shell in
        the foreground is an agent that stopped; a command under a shell is busy)."""
        screen = self.adapter.capture(self.pane_id).text
        observation = pane_observation(screen, self.adapter.pane(self.pane_id))
        return screen, detect(self.profile, observation).status

    def deliver(self, text: str) -> Outcome:
        """Type `text` (again only while the agent drops it), then submit it."""
        try:
            first = self.clock()
            typings = 1
            self._type(text)
            while text.strip() and self._dropped() and self.clock() - first < self.retype_seconds:
                typings += 1
                self._type(text)
            outcome = self._submit()
        except tmux_adapter.TmuxError as exc:
            return Outcome(False, 0, reason=f"tmux: {exc}")
        if typings == 1:
            return outcome
        typed = f"typed {typings} times: the agent dropped the keys"
        if outcome.delivered:
            return dataclasses.replace(outcome, confirmed_by=f"{outcome.confirmed_by} ({typed})")
        return dataclasses.replace(outcome, reason=f"{outcome.reason} ({typed})")

    def _type(self, text: str) -> None:
        if self.profile.delivery.use_bracketed_paste and ("\n" in text or len(text) > PASTE_OVER_CHARS):
            self.adapter.paste_text(self.pane_id, text)
        else:
            # Typed keys cannot carry a line break without submitting it, so lines are joined by spaces.
            self.adapter.send_text(self.pane_id, text.replace("\n", " "))
        self.sleep(self.profile.delivery.enter_delay)

    def _dropped(self) -> bool:
        """Whether the agent dropped what was typed: its input line, one that empties on submit, stayed empty for
        `echo_seconds` while the agent neither worked, asked nor stopped. Keys it never read are typed again."""
        deadline = self.clock() + self.echo_seconds
        while True:
            screen, status = self._look()
            if status in (Status.BUSY, Status.WAITING, Status.STOPPED) or unsent(self.profile, screen) != "":
                return False
            if self.clock() >= deadline:
                return True
            self.sleep(self.poll_seconds)

    def submit(self) -> Outcome:
        """Submit what is already typed in the input line (a delivery interrupted before its Enter)."""
        try:
            return self._submit()
        except tmux_adapter.TmuxError as exc:
            return Outcome(False, 0, reason=f"tmux: {exc}")

    def _submit(self) -> Outcome:
        before, _status = self._look()
        # An input line counts as emptied only once it has shown the text: a capture taken before the typed text
        # was drawn shows the empty line it had before.
        shown = bool(self.profile.draft(before))
        reporter = self.profile.self_report if self.accepted is not None else None
        attempts = 0
        draft: str | None = None
        while attempts < self.max_enters:
            attempts += 1
            self.adapter.send_keys(self.pane_id, self.profile.delivery.submit_key)
            deadline = self.clock() + self.confirm_seconds
            while self.clock() < deadline:
                self.sleep(self.poll_seconds)
                if reporter is not None and self.accepted():
                    return Outcome(True, attempts, confirmed_by=reporter.confirmation)
                screen, status = self._look()
                draft = self.profile.draft(screen)
                proof = submit_proof(status, draft, shown)
                if proof:
                    return Outcome(True, attempts, confirmed_by=proof)
                shown = shown or bool(draft)
        return Outcome(False, attempts, reason=unproven(attempts, draft))


def submit_proof(status: Status, draft: str | None, shown: bool) -> str:
    """What proves, after Enter, that the agent took the prompt ("" if nothing does): it went busy or straight
    into a dialog, it stopped (a prompt like /exit ends it), or its input line emptied after it had shown the
    text. A screen that merely changed proves nothing: an agent redraws its input line as text arrives."""
    if status in (Status.BUSY, Status.WAITING):
        return f"went {status.value}"
    if status is Status.STOPPED:
        return "the agent stopped after it"
    if draft == "" and shown:
        return "input line emptied"
    return ""


def unproven(attempts: int, draft: str | None) -> str:
    """Why a delivery failed after `attempts` Enter presses, from the input line last seen."""
    if draft:
        return f"the text is still in the input line after {attempts} Enter presses"
    if draft is None:
        return (
            f"no proof of the submit after {attempts} Enter presses: no input line shows and the agent did not go busy"
        )
    return f"no proof of the submit after {attempts} Enter presses: the input line never showed the text"
