# ruff: noqa: RUF001  -- the glyphs Claude Code draws (U+276F), not typos for >.
"""The Typist's submit-and-confirm logic against a scripted pane (no tmux): never typed twice, bounded Enters."""

import dataclasses
from dataclasses import dataclass, field

from sessions_app.agents import BUILTIN_PROFILES
from sessions_app.delivery import Typist, held_reason, unsent
from sessions_app.profiles import Profile
from sessions_app.tmux import PaneInfo, PaneScreen

RULE = "─" * 60


def claude_screen(draft: str = "", busy: bool = False) -> str:
    spinner = ["✶ Pondering… (2s)"] if busy else []
    footer = "  esc to interrupt" if busy else "  ? for shortcuts"
    return "\n".join(["header", "", *spinner, RULE, f"❯\u00a0{draft}", RULE, footer]) + "\n"


@dataclass
class ScriptedPane:
    """Answers captures from a script: the screen shown after the Nth Enter press."""

    after_enters: dict[int, str]
    typed: str = ""
    calls: list = field(default_factory=list)
    enters: int = 0
    # the Enter press after which the pane is dead (the agent exited), if any
    dies_after: int | None = None
    command: str = "claude"

    def send_text(self, pane_id, text):
        self.calls.append(("text", text))
        self.typed = text

    def paste_text(self, pane_id, text):
        self.calls.append(("paste", text))
        self.typed = text

    def send_keys(self, pane_id, *keys):
        self.calls.append(("keys", keys))
        self.enters += keys.count("Enter")

    def capture(self, pane_id):
        screen = self.after_enters.get(
            self.enters, self.after_enters[max(k for k in self.after_enters if k <= self.enters)]
        )
        return PaneScreen(pane_id, screen.replace("{typed}", self.typed), 0, False, 80, 24, 0.0)

    def pane(self, pane_id):
        dead = self.dies_after is not None and self.enters >= self.dies_after
        return PaneInfo(
            session_name="s", window_index=0, pane_id=pane_id, pid=1, current_command=self.command,
            current_path="/tmp", dead=dead, dead_status=0 if dead else None, dead_signal=None, title="",
            alternate_on=False, cursor_x=0, cursor_y=0, history_size=0, width=80, height=24, in_mode=False,
            activity=0, tag="s",
        )  # fmt: skip


class Clock:
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now

    def sleep(self, seconds):
        self.now += seconds


def typist(pane, profile="claude", **kwargs):
    clock = Clock()
    return Typist(pane, "%1", BUILTIN_PROFILES[profile], clock=clock, sleep=clock.sleep, **kwargs)


def test_confirmed_when_the_agent_goes_busy():
    pane = ScriptedPane({0: claude_screen("{typed}"), 1: claude_screen("", busy=True)})
    outcome = typist(pane).deliver("fix it")
    assert (outcome.delivered, outcome.confirmed_by, outcome.attempts) == (True, "went busy", 1)
    assert pane.calls == [("text", "fix it"), ("keys", ("Enter",))]


def test_confirmed_when_the_input_line_empties():
    pane = ScriptedPane({0: claude_screen("{typed}"), 1: claude_screen("")})
    assert typist(pane).deliver("fix it").confirmed_by == "input line emptied"


def test_an_enter_that_did_not_take_is_pressed_again_but_the_text_is_never_retyped():
    pane = ScriptedPane({0: claude_screen("{typed}"), 2: claude_screen("", busy=True)})
    outcome = typist(pane).deliver("fix it")
    assert (outcome.delivered, outcome.attempts) == (True, 2)
    assert [c for c in pane.calls if c[0] == "text"] == [("text", "fix it")]


def test_gives_up_after_the_bounded_enters_with_the_reason():
    pane = ScriptedPane({0: claude_screen("{typed}")})
    outcome = typist(pane, max_enters=3).deliver("fix it")
    assert not outcome.delivered and outcome.attempts == 3
    assert "still in the input line after 3 Enter presses" in outcome.reason
    assert pane.enters == 3 and len([c for c in pane.calls if c[0] == "text"]) == 1


def test_a_screen_that_changed_after_enter_is_no_proof_of_the_submit():
    # A profile that cannot read its input line: the changed screen used to count as delivered.
    plain = Profile(name="plain", command=("plain",))
    pane = ScriptedPane({0: "> {typed}\n", 1: "> {typed}\nredrawn\n"}, command="plain")
    clock = Clock()
    outcome = Typist(pane, "%1", plain, clock=clock, sleep=clock.sleep).deliver("fix it")
    assert not outcome.delivered and pane.enters == 3
    assert "no proof of the submit after 3 Enter presses" in outcome.reason


def test_an_input_line_that_never_showed_the_text_is_no_proof_that_it_emptied():
    pane = ScriptedPane({0: claude_screen("")})
    outcome = typist(pane, retype_seconds=0).deliver("fix it")
    assert not outcome.delivered and pane.enters == 3
    assert "never showed the text" in outcome.reason


@dataclass
class DroppingPane(ScriptedPane):
    """An agent that ignores the first `drops` typings (Gemini CLI just after --resume): its input stays empty."""

    drops: int = 0

    def send_text(self, pane_id, text):
        super().send_text(pane_id, text)
        if self.drops:
            self.drops -= 1
            self.typed = ""


def test_a_text_the_agent_dropped_before_any_enter_is_typed_again_until_it_shows():
    pane = DroppingPane({0: claude_screen("{typed}"), 1: claude_screen("", busy=True)}, drops=2)
    outcome = typist(pane).deliver("fix it")
    assert outcome.delivered and outcome.confirmed_by == "went busy (typed 3 times: the agent dropped the keys)"
    assert [c for c in pane.calls if c[0] == "text"] == [("text", "fix it")] * 3 and pane.enters == 1


def test_a_text_that_shows_at_once_is_typed_once_and_one_dropped_for_good_is_given_up_with_the_reason():
    shown = DroppingPane({0: claude_screen("{typed}"), 1: claude_screen("", busy=True)})
    assert typist(shown).deliver("fix it").confirmed_by == "went busy"
    assert len([c for c in shown.calls if c[0] == "text"]) == 1
    dropped = DroppingPane({0: claude_screen("{typed}")}, drops=1000)
    outcome = typist(dropped, retype_seconds=10).deliver("fix it")
    typings = len([c for c in dropped.calls if c[0] == "text"])
    assert not outcome.delivered and 2 < typings < 10 and f"(typed {typings} times" in outcome.reason


def test_a_shell_whose_line_looks_empty_is_never_typed_again():
    pane = DroppingPane({0: "$ {typed}\n"}, command="sh", drops=1)
    typist(pane, profile="shell").deliver("rm -rf build")
    assert len([c for c in pane.calls if c[0] == "text"]) == 1


def test_a_shell_is_confirmed_by_a_fresh_empty_prompt_and_pressed_again_while_the_line_holds_the_text():
    pane = ScriptedPane({0: "$ {typed}\n", 2: "$ echo hi\nhi\n$ \n"}, command="sh")
    outcome = typist(pane, profile="shell").deliver("echo hi")
    assert (outcome.delivered, outcome.attempts, outcome.confirmed_by) == (True, 2, "input line emptied")


def test_a_command_running_under_the_shell_confirms_it():
    pane = ScriptedPane({0: "$ {typed}\n", 1: "$ sleep 5\n"}, command="sh")
    pane.pane = lambda pane_id, pane=pane, base=pane.pane: dataclasses.replace(
        base(pane_id), current_command="sleep" if pane.enters else "sh"
    )
    assert typist(pane, profile="shell").deliver("sleep 5").confirmed_by == "went busy"


def test_a_message_after_which_the_agent_stops_is_delivered():
    # /exit: the agent leaves, its pane stays dead (remain-on-exit) with whatever the screen last showed
    pane = ScriptedPane({0: claude_screen("{typed}"), 1: "$ \n"}, dies_after=1)
    outcome = typist(pane).deliver("/exit")
    assert (outcome.delivered, outcome.attempts, outcome.confirmed_by) == (True, 1, "the agent stopped after it")


def test_multiline_and_long_text_go_as_one_paste():
    pane = ScriptedPane({0: claude_screen("[Pasted text]"), 1: claude_screen("", busy=True)})
    typist(pane).deliver("line one\nline two")
    assert pane.calls[0] == ("paste", "line one\nline two")
    long = ScriptedPane({0: claude_screen("[Pasted text]"), 1: claude_screen("", busy=True)})
    typist(long).deliver("x" * 500)
    assert long.calls[0][0] == "paste"


def test_a_shell_gets_lines_joined_instead_of_a_paste():
    pane = ScriptedPane({0: "$ \n", 1: "$ a b\n$ \n"})
    typist(pane, profile="shell").deliver("a\nb")
    assert pane.calls[0] == ("text", "a b")


def test_the_agents_own_word_confirms_before_the_screen_does():
    pane = ScriptedPane({0: claude_screen("{typed}")})
    outcome = typist(pane, accepted=lambda: pane.enters == 1).deliver("fix it")
    assert (outcome.delivered, outcome.confirmed_by) == (True, BUILTIN_PROFILES["claude"].self_report.confirmation)
    assert outcome.confirmed_by == "UserPromptSubmit hook"


def test_without_a_self_report_plugin_nothing_is_taken_as_its_word():
    pane = ScriptedPane({0: codex_screen("{typed}"), 1: codex_screen()})
    outcome = typist(pane, profile="codex", accepted=lambda: True).deliver("fix it")
    assert outcome.confirmed_by == "input line emptied"


def codex_screen(composer: str = "Ask Codex to do anything", working: bool = False) -> str:
    status = ["• Working (2s • esc to interrupt)", ""] if working else []
    return "\n".join(["› earlier prompt", "", "• answer", "", *status, f"› {composer}", "", "  ? for shortcuts"]) + "\n"


def test_codex_is_confirmed_when_its_composer_shows_the_placeholder_again():
    pane = ScriptedPane({0: codex_screen("{typed}"), 1: codex_screen()})
    outcome = typist(pane, profile="codex").deliver("fix it")
    assert (outcome.delivered, outcome.confirmed_by) == (True, "input line emptied")


def test_codex_presses_enter_again_while_the_text_sits_in_its_composer():
    pane = ScriptedPane({0: codex_screen("{typed}"), 2: codex_screen(working=True)})
    outcome = typist(pane, profile="codex").deliver("fix it")
    assert (outcome.delivered, outcome.attempts, outcome.confirmed_by) == (True, 2, "went busy")


def test_gemini_is_confirmed_when_its_box_shows_the_placeholder_again():
    def box(text):
        return "\n".join(["> earlier", "", "╭" + "─" * 40 + "╮", f"│ > {text} │", "╰" + "─" * 40 + "╯"]) + "\n"

    pane = ScriptedPane({0: box("{typed}"), 1: box("  Type your message or @path/to/file")})
    assert typist(pane, profile="gemini").deliver("fix it").confirmed_by == "input line emptied"


def test_unsent_text_is_what_the_composer_reads_where_it_empties_on_submit():
    claude = BUILTIN_PROFILES["claude"]
    assert unsent(claude, claude_screen("")) == ""
    assert unsent(claude, claude_screen("half typed")) == "half typed"
    assert unsent(claude, "no input box here\n") is None
    # a shell's command line stays on screen once submitted, so it tells nothing about the submit
    assert BUILTIN_PROFILES["shell"].draft("$ make\n") == "make"
    assert unsent(BUILTIN_PROFILES["shell"], "$ make\n") is None


def test_the_reason_a_message_waits_quotes_the_draft_on_one_short_line():
    assert held_reason("123") == 'input has a draft: "123"'
    assert held_reason("first line\n  second") == 'input has a draft: "first line second"'
    assert held_reason("x" * 100) == f'input has a draft: "{"x" * 59}…"'
