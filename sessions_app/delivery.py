"""Typing a prompt into an agent and confirming that it was really submitted, without ever submitting twice.

The text is typed once (literally, or as one bracketed paste when it has line breaks or is long), Enter follows
after the profile's delay, and the submit counts only when the agent visibly took it: it went busy (or straight
into a dialog), its input line emptied (read with the profile's composer rule), or the agent itself said so (its
self-report plug-in). While the text still sits in the input line, Enter is pressed again, a bounded number of
times; the text itself is never typed again.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable

from sessions_app import tmux as tmux_adapter
from sessions_app.detection import Observation, detect
from sessions_app.profiles import Profile, Status

PASTE_OVER_CHARS = 200


def unsent(profile: Profile, screen: str) -> str | None:
    """The text in the agent's input line, where that line tells whether a submit took: "" when empty, None when
    no input line shows or when the profile's input keeps showing what was submitted (a shell's command line)."""
    if profile.composer is None or not profile.composer.clears_on_submit:
        return None
    return profile.draft(screen)


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

    def _look(self) -> tuple[str, Status]:
        screen = self.adapter.capture(self.pane_id).text
        return screen, detect(self.profile, Observation(screen=screen)).status

    def deliver(self, text: str) -> Outcome:
        """Type `text` once, then submit it."""
        try:
            if self.profile.delivery.use_bracketed_paste and ("\n" in text or len(text) > PASTE_OVER_CHARS):
                self.adapter.paste_text(self.pane_id, text)
            else:
                # Typed keys cannot carry a line break without submitting it, so lines are joined by spaces.
                self.adapter.send_text(self.pane_id, text.replace("\n", " "))
            self.sleep(self.profile.delivery.enter_delay)
            return self._submit()
        except tmux_adapter.TmuxError as exc:
            return Outcome(False, 0, reason=f"tmux: {exc}")

    def submit(self) -> Outcome:
        """Submit what is already typed in the input line (a delivery interrupted before its Enter)."""
        try:
            return self._submit()
        except tmux_adapter.TmuxError as exc:
            return Outcome(False, 0, reason=f"tmux: {exc}")

    def _submit(self) -> Outcome:
        before, _status = self._look()
        knows_input_line = unsent(self.profile, before) is not None
        reporter = self.profile.self_report if self.accepted is not None else None
        attempts = 0
        while attempts < self.max_enters:
            attempts += 1
            self.adapter.send_keys(self.pane_id, self.profile.delivery.submit_key)
            deadline = self.clock() + self.confirm_seconds
            draft = None
            while self.clock() < deadline:
                self.sleep(self.poll_seconds)
                if reporter is not None and self.accepted():
                    return Outcome(True, attempts, confirmed_by=reporter.confirmation)
                screen, status = self._look()
                if status in (Status.BUSY, Status.WAITING):
                    return Outcome(True, attempts, confirmed_by=f"went {status.value}")
                draft = unsent(self.profile, screen)
                if knows_input_line and draft == "":
                    return Outcome(True, attempts, confirmed_by="input line emptied")
                if not knows_input_line and screen != before:
                    return Outcome(True, attempts, confirmed_by="screen changed after Enter")
            if not knows_input_line:
                return Outcome(False, attempts, reason="the screen did not change after Enter; not pressing it again")
            if not draft:
                return Outcome(False, attempts, reason="the input line is gone and the agent did not go busy")
        return Outcome(False, attempts, reason=f"the text is still in the input line after {attempts} Enter presses")
