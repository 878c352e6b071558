# ruff: noqa: RUF001  -- the glyphs Claude Code draws (U+276F), not typos for >.
"""The Typist's submit-and-confirm logic against a scripted pane (no tmux): never typed twice, bounded Enters."""

from dataclasses import dataclass, field

from sessions_app.agents import BUILTIN_PROFILES
from sessions_app.delivery import Typist, unsent
from sessions_app.tmux import PaneScreen

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


def test_without_a_readable_input_line_enter_is_pressed_once():
    pane = ScriptedPane({0: "$ echo hi\n"})
    outcome = typist(pane, profile="shell").deliver("echo hi")
    assert not outcome.delivered and pane.enters == 1
    assert "did not change" in outcome.reason
    changed = ScriptedPane({0: "$ echo hi\n", 1: "$ echo hi\nhi\n$ \n"})
    assert typist(changed, profile="shell").deliver("echo hi").confirmed_by == "screen changed after Enter"


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
