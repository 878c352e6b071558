# ruff: noqa: RUF001, RUF002  -- screens hold the look-alike glyphs TUIs really draw (U+276F, U+2217), not typos.
"""detect(): the real Claude Code captures, hand-written screens of the other agents, and the signal order."""

from __future__ import annotations

import re

import pytest

from sessions_app.agents import BUILTIN_PROFILES, claude
from sessions_app.detection import (
    Observation,
    ProcessInfo,
    RuleMemo,
    SelfReport,
    Status,
    detect,
    is_signal,
    screen_lines,
)
from sessions_app.profiles import Rule
from sessions_app.screen import screen_tail
from tests.sessions_app import screens as s

CLAUDE = BUILTIN_PROFILES["claude"]
CODEX = BUILTIN_PROFILES["codex"]
GEMINI = BUILTIN_PROFILES["gemini"]
AIDER = BUILTIN_PROFILES["aider"]
SHELL = BUILTIN_PROFILES["shell"]

CAPTURES = s.captures()


def check(verdict, status, rule):
    """The status, the rule that decided, and a reason that names it."""
    assert (verdict.status, verdict.rule) == (status, rule), verdict.reason
    assert verdict.reason
    assert rule in verdict.reason


# --- The real captures ----------------------------------------------------------------------------------------


def test_the_index_lists_every_capture():
    on_disk = {path.stem for path in s.FIXTURES.glob("*.txt")}
    assert on_disk == {capture.name for capture in CAPTURES}
    assert {capture.expected for capture in CAPTURES} == {"idle", "busy", "waiting", "stopped"}


@pytest.mark.parametrize("capture", CAPTURES, ids=lambda capture: capture.name)
def test_capture_with_its_pane_metadata(capture):
    verdict = detect(CLAUDE, capture.observation)
    assert verdict.status == capture.expected, f"{capture.note}: {verdict.reason}"
    assert verdict.rule and verdict.rule in verdict.reason


@pytest.mark.parametrize("capture", [c for c in CAPTURES if c.expected != "stopped"], ids=lambda capture: capture.name)
def test_live_capture_from_the_screen_alone(capture):
    """The screen rules decide every live capture without the pane metadata."""
    verdict = detect(CLAUDE, Observation(screen=capture.observation.screen))
    assert verdict.status == capture.expected, verdict.reason
    assert verdict.signal == "screen"


@pytest.mark.parametrize(
    ("prefix", "rule"),
    [
        ("permission_", "claude.permission_dialog"),
        ("busy_", "claude.esc_to_interrupt"),
        ("idle_after_", "claude.input_empty"),
        ("exitpending_", "claude.input_empty"),
    ],
)
def test_which_rule_decides_each_class(prefix, rule):
    for capture in (c for c in CAPTURES if c.name.startswith(prefix)):
        check(detect(CLAUDE, capture.observation), capture.expected, rule)


def test_permission_reason_quotes_the_question():
    verdict = detect(CLAUDE, Observation(screen=s.fixture("permission_3")))
    assert verdict.reason == (
        "rule claude.permission_dialog matched 'Do you want to proceed?' in the bottom 15 lines; "
        "asks 'Do you want to proceed?': 1 Yes / 2 Yes, and always allow access to /tmp from this project / "
        "3 Yes, and switch to auto mode · auto mode handles these prompts for you / 4 No"
    )
    assert verdict.text == "Do you want to proceed?"


def test_typed_draft_is_still_idle():
    check(detect(CLAUDE, Observation(screen=s.fixture("idle_3"))), Status.IDLE, "claude.input_draft")


@pytest.mark.parametrize(
    ("name", "command", "dead", "rule"),
    [
        ("stopped_1", "bash", False, "process.foreground_shell"),
        ("stopped_2", "launch_claude.sh", True, "pane.dead"),
        ("stopped_3", "bash", False, "process.foreground_shell"),
    ],
)
def test_stopped_needs_the_metadata(name, command, dead, rule):
    screen = s.fixture(name)
    assert detect(CLAUDE, Observation(screen=screen)).status != Status.STOPPED
    verdict = detect(CLAUDE, Observation(screen=screen, pane_current_command=command, pane_dead=dead))
    check(verdict, Status.STOPPED, rule)


def test_sigkill_reason_names_the_shell():
    verdict = detect(CLAUDE, Observation(screen=s.fixture("stopped_3"), pane_current_command="bash"))
    assert verdict.reason == "process.foreground_shell: foreground command is bash, not claude"


# --- Generalisation: the same signals drawn differently -------------------------------------------------------

SPINNER = re.compile(r"^\S (\w+)…(.*)$", re.MULTILINE)


def without_footer_hint(screen: str) -> str:
    return screen.replace(" · esc to interrupt", "")


@pytest.mark.parametrize(
    "replacement",
    ["✳ Reticulating… (1m 12s · ↑ 2.4k tokens · thinking)", "∗ Herding...", "✺ Spelunking…", "+ Moseying…"],
)
def test_spinner_line_with_other_glyphs_verbs_and_counts(replacement):
    screen = without_footer_hint(s.fixture("busy_30"))
    changed = SPINNER.sub(replacement, screen, count=1)
    assert changed != screen
    check(detect(CLAUDE, Observation(screen=changed)), Status.BUSY, "claude.spinner")


def test_finished_turn_summary_is_not_a_spinner():
    """'✻ Brewed for 8s' above the input line has no ellipsis after its verb: the turn is over."""
    screen = s.fixture("idle_after_5").replace("Cogitated for 1s", "Worked for 1s")
    check(detect(CLAUDE, Observation(screen=screen)), Status.IDLE, "claude.input_empty")


def test_draft_typed_while_a_tool_runs_hides_the_footer_hint_but_not_the_spinner():
    screen = without_footer_hint(s.fixture("busy_28")).replace(f"❯{s.NBSP}\n", f"❯{s.NBSP}also update the docs\n")
    check(detect(CLAUDE, Observation(screen=screen)), Status.BUSY, "claude.spinner")


def test_draft_typed_while_text_streams_is_decided_by_the_session_file():
    """While text streams there is no spinner; a draft hides 'esc to interrupt', so only the self-report knows."""
    screen = without_footer_hint(s.fixture("busy_9")).replace(f"❯{s.NBSP}\n", f"❯{s.NBSP}and then the tests\n")
    report = SelfReport(status="busy", pid=4242, pid_alive=True, source="Claude Code session file")
    verdict = detect(CLAUDE, Observation(screen=screen, agent_self_report=report))
    check(verdict, Status.BUSY, "self_report")
    assert verdict.reason == "self_report: Claude Code session file says busy"


def test_permission_dialog_for_an_edit_with_three_options():
    lines = s.fixture("permission_1").split("\n")
    start = next(i for i, line in enumerate(lines) if "Do you want to proceed?" in line)
    lines[start : start + 5] = [
        " Do you want to make this edit to models.py?",
        " ❯ 1. Yes",
        "   2. Yes, allow all edits during this session (shift+tab)",
        "   3. No, and tell Claude what to do differently (esc)",
    ]
    check(detect(CLAUDE, Observation(screen="\n".join(lines))), Status.WAITING, "claude.permission_dialog")


@pytest.mark.parametrize(
    ("screen", "status", "rule"),
    [
        (s.CLAUDE_BOXED_IDLE, Status.IDLE, "claude.input_empty"),
        (s.CLAUDE_BOXED_BUSY, Status.BUSY, "claude.esc_to_interrupt"),
        (s.CLAUDE_BOXED_PERMISSION, Status.WAITING, "claude.permission_dialog"),
    ],
    ids=["idle", "busy", "permission"],
)
def test_claude_in_a_boxed_renderer(screen, status, rule):
    check(detect(CLAUDE, Observation(screen=screen, pane_current_command="node")), status, rule)


def test_claude_boxed_spinner_without_its_hint():
    screen = s.CLAUDE_BOXED_BUSY.replace(" · esc to interrupt", "")
    check(detect(CLAUDE, Observation(screen=screen)), Status.BUSY, "claude.spinner")


def test_claude_first_run_trust_dialog():
    check(detect(CLAUDE, Observation(screen=s.CLAUDE_TRUST_DIALOG)), Status.WAITING, "generic.trust_question")


def test_claude_asking_in_prose_with_a_numbered_prompt_above_stays_idle():
    """An answer asking "Do you want me to...?" and a numbered prompt echoed with ❯ are transcript, not dialogs."""
    screen = s.fixture("idle_after_5").replace(
        "❯ hello\n\n● Hello from the mock Anthropic server. Ready.",
        "❯ 1. add a model\n  2. add a view\n\n● Done. Do you want me to proceed with the tests?",
    )
    assert "2. add a view" in screen
    check(detect(CLAUDE, Observation(screen=screen)), Status.IDLE, "claude.input_empty")


def test_claude_answer_that_is_a_numbered_list_stays_idle():
    """Claude starts a message with ●, which Gemini uses to mark the chosen option of a menu."""
    screen = s.fixture("idle_after_5").replace(
        "❯ hello\n\n● Hello from the mock Anthropic server. Ready.",
        "❯ what should we do next?\n\n● 1. Add tests for the parser\n  2. Fix the flaky build",
    )
    assert "2. Fix the flaky build" in screen
    check(detect(CLAUDE, Observation(screen=screen)), Status.IDLE, "claude.input_empty")


def test_claude_question_at_the_start_of_its_answer_stays_idle():
    screen = s.fixture("idle_after_5").replace(
        "● Hello from the mock Anthropic server. Ready.", "● Do you want me to proceed with the migration?"
    )
    check(detect(CLAUDE, Observation(screen=screen)), Status.IDLE, "claude.input_empty")


def test_claude_started_by_a_wrapper_script_is_judged_by_its_screen():
    observation = Observation(screen=s.fixture("busy_20"), pane_current_command="launch_claude.sh")
    check(detect(CLAUDE, observation), Status.BUSY, "claude.esc_to_interrupt")


# --- Codex ----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("title", "screen", "status", "rule"),
    [
        ("⠹ proj", s.CODEX_STREAMING, Status.BUSY, "codex.title_spinner"),
        ("⣾ proj", s.CODEX_STREAMING, Status.BUSY, "codex.title_spinner"),
        ("proj", s.CODEX_STREAMING, Status.IDLE, "codex.composer"),
        ("", s.CODEX_WORKING_LINE, Status.BUSY, "codex.esc_to_interrupt"),
        ("[ ! ] Action Required | proj", s.CODEX_APPROVAL, Status.WAITING, "codex.approval_question"),
        ("[ . ] proj", s.CODEX_APPROVAL, Status.WAITING, "codex.approval_question"),
        ("", s.CODEX_APPROVAL, Status.WAITING, "codex.approval_question"),
        ("", s.CODEX_TRUST, Status.WAITING, "codex.dialog_hint"),
        ("", s.CODEX_OLD_APPROVAL, Status.WAITING, "generic.question_with_choices"),
    ],
    ids=[
        "spinner-title",
        "other-braille-frame",
        "idle-composer",
        "working-line",
        "action-required",
        "action-required-blink",
        "approval-screen-only",
        "first-run-trust",
        "older-approval",
    ],
)
def test_codex(title, screen, status, rule):
    check(detect(CODEX, Observation(screen=screen, pane_title=title, pane_current_command="codex")), status, rule)


def test_codex_title_reason_quotes_the_title():
    verdict = detect(CODEX, Observation(screen=s.CODEX_STREAMING, pane_title="⠹ proj"))
    assert verdict.reason == "rule codex.title_spinner matched '⠹' in the pane title"
    assert verdict.signal == "title"


# --- Gemini ---------------------------------------------------------------------------------------------------

READY = "◇  Ready (proj)" + " " * 60


@pytest.mark.parametrize(
    ("title", "screen", "status", "rule"),
    [
        (READY, s.GEMINI_IDLE, Status.IDLE, "gemini.input_box"),
        (READY, "", Status.IDLE, "gemini.title_ready"),
        ("✦  Working… (proj)", s.GEMINI_IDLE, Status.BUSY, "gemini.title_working"),
        ("", s.GEMINI_BUSY, Status.BUSY, "gemini.esc_to_cancel"),
        ("", s.GEMINI_BUSY_BARE, Status.BUSY, "gemini.esc_to_cancel"),
        ("✋  Action Required (proj)", s.GEMINI_TOOL_CONFIRMATION, Status.WAITING, "gemini.tool_confirmation"),
        ("", s.GEMINI_TOOL_CONFIRMATION, Status.WAITING, "gemini.tool_confirmation"),
        (READY, s.GEMINI_TRUST, Status.WAITING, "generic.trust_question"),
        (READY, s.GEMINI_AUTH, Status.WAITING, "gemini.option_menu"),
    ],
    ids=[
        "ready",
        "ready-title-only",
        "working-title",
        "spinner-line",
        "bare-spinner-line",
        "action-required",
        "tool-confirmation-screen-only",
        "ready-title-over-trust-dialog",
        "ready-title-over-auth-dialog",
    ],
)
def test_gemini(title, screen, status, rule):
    check(detect(GEMINI, Observation(screen=screen, pane_title=title, pane_current_command="node")), status, rule)


# --- Aider and the shell --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("screen", "status", "rule"),
    [
        (s.AIDER_IDLE, Status.IDLE, "aider.prompt"),
        (s.AIDER_DRAFT, Status.IDLE, "aider.prompt"),
        (s.AIDER_CONFIRM, Status.WAITING, "generic.yes_no_prompt"),
        (s.AIDER_WAITING_FOR_MODEL, Status.BUSY, "aider.waiting_for_model"),
        (s.AIDER_STREAMING, Status.BUSY, "profile.fallback"),
    ],
    ids=["prompt", "architect-draft", "add-file-question", "waiting-for-model", "streaming"],
)
def test_aider(screen, status, rule):
    check(detect(AIDER, Observation(screen=screen, pane_current_command="aider")), status, rule)


@pytest.mark.parametrize(
    ("screen", "command", "status", "rule"),
    [
        (s.SHELL_PROMPT, "bash", Status.IDLE, "shell.prompt"),
        (s.SHELL_PROMPT, "-zsh", Status.IDLE, "shell.prompt"),
        (s.SHELL_TYPED, "bash", Status.IDLE, "shell.prompt"),
        (s.SHELL_SLEEP, "sleep", Status.BUSY, "process.foreground_command"),
        (s.SHELL_APT, "apt", Status.WAITING, "generic.yes_no_prompt"),
        (s.SHELL_SUDO, "sudo", Status.WAITING, "generic.password_prompt"),
        ("\n\n", "bash", Status.UNKNOWN, "no_match"),
    ],
    ids=["prompt", "login-zsh", "typed-not-run", "sleep", "apt-question", "sudo-password", "blank"],
)
def test_shell(screen, command, status, rule):
    check(detect(SHELL, Observation(screen=screen, pane_current_command=command)), status, rule)


def test_shell_names_the_foreground_command():
    verdict = detect(SHELL, Observation(screen=s.SHELL_SLEEP, pane_current_command="sleep"))
    assert verdict.reason == "process.foreground_command: foreground command is sleep, not the shell"
    vim = detect(SHELL, Observation(screen="~\n~\n", pane_current_command="vim", alternate_on=True))
    assert vim.reason == "process.foreground_command: foreground command is vim (full-screen), not the shell"


# --- The order of the signals ---------------------------------------------------------------------------------


def test_pane_dead_outranks_everything():
    report = SelfReport(status="busy", pid_alive=True)
    observation = Observation(screen=s.fixture("busy_1"), pane_dead=True, pane_dead_status=0, agent_self_report=report)
    verdict = detect(CLAUDE, observation)
    check(verdict, Status.STOPPED, "pane.dead")
    assert verdict.reason == "pane.dead: pane dead (exit 0)"


def test_gone_process_is_stopped():
    observation = Observation(screen=s.fixture("idle_1"), process=ProcessInfo(alive=False, pid=4242))
    verdict = detect(CLAUDE, observation)
    check(verdict, Status.STOPPED, "process.gone")
    assert "4242" in verdict.reason


def test_foreground_shell_outranks_a_stale_session_file():
    """After SIGKILL Claude's session file stays behind saying idle."""
    report = SelfReport(status="idle", pid=4242, source="Claude Code session file")
    observation = Observation(screen=s.fixture("stopped_3"), pane_current_command="bash", agent_self_report=report)
    check(detect(CLAUDE, observation), Status.STOPPED, "process.foreground_shell")


def test_self_report_outranks_the_screen():
    """Right after a dialog is answered the input line flashes back while the session file already says busy."""
    waiting = {"pid": 4242, "status": "waiting", "waitingFor": "permission prompt"}
    report = claude.session_report(waiting, pid_alive=True)
    observation = Observation(screen=s.fixture("idle_after_2"), agent_self_report=report)
    verdict = detect(CLAUDE, observation)
    check(verdict, Status.WAITING, "self_report")
    assert verdict.reason == "self_report: Claude Code session file says waiting (permission prompt)"


def test_a_self_reported_waiting_quotes_the_dialog_on_screen():
    """The session file says only "permission prompt"; the reason also says what is asked (issue 14 item 9)."""
    waiting = {"pid": 4242, "status": "waiting", "waitingFor": "permission prompt"}
    report = claude.session_report(waiting, pid_alive=True)
    verdict = detect(CLAUDE, Observation(screen=s.fixture("permission_3"), agent_self_report=report))
    assert verdict.reason.startswith(
        "self_report: Claude Code session file says waiting (permission prompt); asks 'Do you want to proceed?': 1 Yes"
    )


@pytest.mark.parametrize(
    ("report", "process"),
    [
        (SelfReport(status="idle", pid=4242, pid_alive=False), None),
        (SelfReport(status="idle", pid=1111, pid_alive=True), ProcessInfo(pid=4242)),
        (SelfReport(status="shell", pid=4242, pid_alive=True), None),
        (SelfReport(status="", pid=4242, pid_alive=True), None),
    ],
    ids=["dead-pid", "another-pid", "unmapped-status", "empty"],
)
def test_untrustworthy_self_report_leaves_the_screen_to_decide(report, process):
    observation = Observation(screen=s.fixture("permission_2"), agent_self_report=report, process=process)
    check(detect(CLAUDE, observation), Status.WAITING, "claude.permission_dialog")


def test_dialog_on_screen_outranks_a_busy_title():
    observation = Observation(screen=s.GEMINI_TRUST, pane_title="✦  Working… (proj)")
    assert detect(GEMINI, observation).status == Status.WAITING


def test_nothing_matched_is_unknown_and_says_what_it_saw():
    verdict = detect(CLAUDE, Observation(screen="Loading configuration\n\n"))
    check(verdict, Status.UNKNOWN, "no_match")
    assert verdict.reason == "no_match: no rule of profile claude matched (last line: 'Loading configuration')"
    check(detect(CLAUDE, Observation(screen="")), Status.UNKNOWN, "no_match")


def test_cpu_use_decides_only_when_no_rule_matched():
    busy_cpu = ProcessInfo(pid=4242, cpu_percent=80.0)
    unknown = Observation(screen="Loading configuration\n", process=busy_cpu)
    check(detect(CLAUDE, unknown), Status.BUSY, "process.cpu")
    quiet = Observation(screen="Loading configuration\n", process=ProcessInfo(pid=4242, cpu_percent=0.5))
    assert detect(CLAUDE, quiet).status == Status.UNKNOWN
    idle = Observation(screen=s.fixture("idle_1"), process=busy_cpu)
    assert detect(CLAUDE, idle).status == Status.IDLE


# --- How rules see the screen ---------------------------------------------------------------------------------


def test_screen_lines_keep_the_no_break_space_and_drop_borders_and_padding():
    lines = screen_lines(f"│ ❯ 1. Yes    │\r\n❯{s.NBSP}   \n\n\n")
    assert lines == ["❯ 1. Yes", f"❯{s.NBSP}"]


def test_bottom_region_counts_from_the_last_non_blank_line():
    """An inline renderer leaves its prompt near the top of a pane padded with blank lines."""
    padded = s.screen("user@host:~$ ", height=200)
    check(detect(SHELL, Observation(screen=padded, pane_current_command="bash")), Status.IDLE, "shell.prompt")


def test_only_a_signal_of_the_agent_ends_its_start_up():
    blank = detect(
        CLAUDE, Observation(screen="\n\n", pane_current_command="claude", process=ProcessInfo(cpu_percent=40))
    )
    assert (blank.rule, is_signal(blank)) == ("process.cpu", False)
    assert not is_signal(detect(CLAUDE, Observation(screen="", pane_current_command="claude")))
    assert is_signal(detect(CLAUDE, Observation(screen=s.fixture("idle_1"), pane_current_command="claude")))
    assert is_signal(detect(CLAUDE, Observation(pane_dead=True)))


# --- Looking at one pane again and again


def test_a_pane_s_rule_memo_gives_a_fresh_look_s_verdicts_and_runs_a_rule_again_only_on_new_text(monkeypatch):
    searched: list[str] = []
    search = Rule.search
    monkeypatch.setattr(Rule, "search", lambda rule, text: searched.append(rule.name) or search(rule, text))
    looks = [capture.observation for capture in CAPTURES]
    memo = RuleMemo()
    for observation in looks:
        assert detect(CLAUDE, observation, memo) == detect(CLAUDE, observation)
    searched.clear()
    detect(CLAUDE, looks[-1], memo)
    assert searched == []
    # a redrawn spinner: only the rules whose regions hold it read again
    frame = Observation(screen=s.CLAUDE_BOXED_BUSY)
    redrawn = Observation(screen=s.CLAUDE_BOXED_BUSY.replace("✳ Pondering… (12s", "✶ Pondering… (13s"))
    detect(CLAUDE, frame, memo)
    searched.clear()
    assert detect(CLAUDE, redrawn, memo) == detect(CLAUDE, redrawn, RuleMemo())
    assert searched.count("claude.esc_to_interrupt") > 0 and len(set(searched)) < len(CLAUDE.rules)


@pytest.mark.parametrize("count", [1, 2, 6, 25, 200])
def test_a_screen_s_tail_is_the_end_of_its_lines(count):
    screens = [capture.observation.screen for capture in CAPTURES] + [s.CLAUDE_BOXED_BUSY, s.GEMINI_IDLE, "", "\n\n"]
    screens += ["x\n\u2502   \u2502\n \t\n", "a\n  b \n\n", " \u00a0\n"]
    for screen in screens:
        assert screen_tail(screen, count) == screen_lines(screen)[-count:]
