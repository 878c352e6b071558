# ruff: noqa: RUF001  -- the glyph Codex really draws (U+203A), not a typo for >.
"""Profiles: the built-ins, user profiles from TOML files (every signal settable), and one-line errors for bad
files."""

from __future__ import annotations

import dataclasses
import os
import re
import textwrap
from pathlib import Path

import pytest

from sessions_app.agents import BUILTIN_PROFILES, GENERIC_DIALOG_RULES, SELF_REPORTS
from sessions_app.catalog import get_profile, load_profiles, profile_files
from sessions_app.composer import Composer
from sessions_app.detection import Observation, detect
from sessions_app.dialogs import Dialog
from sessions_app.profiles import (
    Profile,
    ProfileConfigError,
    Region,
    Rule,
    Status,
    UnknownProfile,
    is_shell,
    required_texts,
)
from tests.sessions_app import screens as s


@pytest.fixture
def project(tmp_path):
    root = tmp_path / "project"
    root.mkdir()
    return root


@pytest.fixture
def environ(tmp_path):
    """An environment whose XDG config directory is empty and private to the test."""
    config = tmp_path / "config"
    config.mkdir()
    return {"XDG_CONFIG_HOME": str(config), "HOME": str(tmp_path)}


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def user_file(environ) -> Path:
    return Path(environ["XDG_CONFIG_HOME"]) / "chorus" / "profiles.toml"


# --- Built-ins ------------------------------------------------------------------------------------------------


def test_builtins_without_user_files(project, environ):
    profiles = load_profiles(project, environ)
    assert set(profiles) == {"claude", "codex", "gemini", "aider", "shell"}
    assert profiles["claude"] is BUILTIN_PROFILES["claude"]


@pytest.mark.parametrize(
    ("name", "command", "enter_delay"),
    [
        ("claude", ("claude",), 0.1),
        ("codex", ("codex", "-c", "notice.hide_rate_limit_model_nudge=true"), 0.15),
        ("gemini", ("gemini",), 0.5),
        ("shell", (), 0.05),
    ],
)
def test_builtin_commands_and_enter_delays(project, environ, name, command, enter_delay):
    profile = get_profile(name, project, environ)
    assert profile.command == command
    assert profile.delivery.enter_delay == enter_delay


@pytest.mark.parametrize(
    ("name", "running", "not_running"),
    [
        ("claude", ["claude", "claude.exe", "node"], ["bash", "python3"]),
        ("codex", ["codex", "node"], ["zsh"]),
        ("gemini", ["node"], ["bash"]),
        ("aider", ["aider", "python", "python3.12"], ["bash", "node"]),
        ("shell", ["bash", "-zsh", "/usr/bin/fish"], ["sleep", "vim"]),
    ],
)
def test_process_names(name, running, not_running):
    profile = BUILTIN_PROFILES[name]
    assert all(profile.runs(command) for command in running)
    assert not any(profile.runs(command) for command in not_running)


def test_is_shell():
    assert is_shell("bash") and is_shell("-zsh") and is_shell("/bin/sh")
    assert not is_shell("claude") and not is_shell("")


def test_every_builtin_carries_the_generic_dialog_rules():
    for profile in BUILTIN_PROFILES.values():
        names = {rule.name for rule in profile.rules}
        assert {rule.name for rule in GENERIC_DIALOG_RULES} <= names, profile.name


def test_every_builtin_has_a_composer_and_a_dialog_rule():
    for profile in BUILTIN_PROFILES.values():
        assert isinstance(profile.composer, Composer), profile.name
        assert isinstance(profile.dialog, Dialog), profile.name
    assert {name for name, p in BUILTIN_PROFILES.items() if p.self_report} == {"claude"}


def test_rules_are_ordered_by_priority_then_declaration():
    ordered = BUILTIN_PROFILES["claude"].ordered_rules
    assert [rule.priority for rule in ordered] == sorted((rule.priority for rule in ordered), reverse=True)
    assert ordered[0].name == "claude.permission_dialog"
    assert ordered[-1].name == "claude.input_draft"


def test_unknown_profile_lists_the_known_names(project, environ):
    with pytest.raises(UnknownProfile) as raised:
        get_profile("cluade", project, environ)
    assert str(raised.value) == "unknown profile 'cluade' (known: aider, claude, codex, gemini, shell)"


def test_working_directory(project):
    assert BUILTIN_PROFILES["claude"].working_directory(project) == project
    sub = Profile(name="x", command=("x",), cwd="backend")
    assert sub.working_directory(project) == project / "backend"
    absolute = Profile(name="x", command=("x",), cwd="/srv/app")
    assert absolute.working_directory(project) == Path("/srv/app")


def test_profile_files_default_to_the_home_config(project):
    files = profile_files(project, {"HOME": "/home/u"})
    assert files == [Path("/home/u/.config/chorus/profiles.toml"), project / "chorus.toml"]


# --- Rules and regions as data --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "region", "described"),
    [
        ("bottom:15", Region("bottom", 15), "in the bottom 15 lines"),
        ("bottom:1", Region("bottom", 1), "on the last line"),
        ("top:3", Region("top", 3), "in the top 3 lines"),
        ("screen", Region("screen"), "on the screen"),
        ("title", Region("title"), "in the pane title"),
    ],
)
def test_region_parse_and_describe(text, region, described):
    assert Region.parse(text) == region
    assert str(region) == text
    assert region.describe() == described


@pytest.mark.parametrize("text", ["bottom", "bottom:0", "bottom:x", "middle:3", "screen:4", ""])
def test_bad_regions(text):
    with pytest.raises(ValueError, match="region"):
        Region.parse(text)


def test_rule_refuses_unknown_status_and_bad_pattern():
    with pytest.raises(ValueError, match="unknown"):
        Rule("x.unknown", Status.UNKNOWN, "x", Region.bottom(3), 1)
    with pytest.raises(ValueError, match="regular expression"):
        Rule("x.bad", Status.IDLE, "(", Region.bottom(3), 1)


def test_profile_refuses_duplicate_rule_names():
    rule = Rule("x.same", Status.IDLE, "x", Region.bottom(3), 1)
    with pytest.raises(ValueError, match=r"duplicate rule names: x\.same"):
        Profile(name="x", command=("x",), rules=(rule, rule))


def test_unless_vetoes_a_rule():
    rules = (
        Rule("x.ready", Status.IDLE, r"ready", Region.bottom(5), 100, unless=r"maintenance"),
        Rule("x.any", Status.BUSY, r"\S", Region.bottom(5), 50),
    )
    profile = Profile(name="x", command=("x",), rules=rules)
    assert detect(profile, Observation(screen="ready\n")).rule == "x.ready"
    assert detect(profile, Observation(screen="ready\nmaintenance\n")).rule == "x.any"


# --- User profiles --------------------------------------------------------------------------------------------


def test_user_profile_extends_a_builtin_and_adds_a_rule(project, environ):
    write(
        project / "chorus.toml",
        """
        [server]
        port = 8765

        [profiles.opus]
        extends = "claude"
        description = "Claude Code on Opus"
        command = ["claude", "--model", "opus"]
        env = { CLAUDE_CODE_USE_BEDROCK = "0" }

        [[profiles.opus.rules]]
        name = "opus.usage_limit"
        status = "waiting"
        pattern = 'usage limit reached'
        region = "bottom:10"
        ignore_case = true
        """,
    )
    profile = get_profile("opus", project, environ)
    assert profile.extends == "claude"
    assert profile.command == ("claude", "--model", "opus")
    assert dict(profile.environment) == {"CLAUDE_CODE_USE_BEDROCK": "0"}
    assert profile.process_names == BUILTIN_PROFILES["claude"].process_names
    assert profile.delivery == BUILTIN_PROFILES["claude"].delivery
    added = next(rule for rule in profile.rules if rule.name == "opus.usage_limit")
    assert (added.status, added.priority, added.region) == (Status.WAITING, 300, Region.bottom(10))

    limit = s.fixture("idle_1").replace("? for shortcuts", "Usage limit reached · resets 5pm")
    verdict = detect(profile, Observation(screen=limit))
    assert (verdict.status, verdict.rule) == (Status.WAITING, "opus.usage_limit")
    # The inherited rules still work.
    assert detect(profile, Observation(screen=s.fixture("permission_1"))).rule == "claude.permission_dialog"


def test_user_rule_replaces_an_inherited_rule_of_the_same_name(project, environ):
    write(
        project / "chorus.toml",
        """
        [profiles.strict]
        extends = "claude"

        [[profiles.strict.rules]]
        name = "claude.esc_to_interrupt"
        status = "busy"
        pattern = "never shown"
        """,
    )
    profile = get_profile("strict", project, environ)
    assert [rule.name for rule in profile.rules].count("claude.esc_to_interrupt") == 1
    assert detect(profile, Observation(screen=s.fixture("busy_9"))).status == Status.IDLE


def test_a_profile_named_like_a_builtin_customises_it(project, environ):
    write(
        user_file(environ),
        """
        [profiles.gemini]
        command = ["gemini", "--yolo"]
        delivery = { enter_delay = 0.8 }
        """,
    )
    profile = get_profile("gemini", project, environ)
    assert profile.command == ("gemini", "--yolo")
    assert profile.delivery.enter_delay == 0.8
    assert profile.delivery.use_bracketed_paste is True
    assert profile.rules == BUILTIN_PROFILES["gemini"].rules


def test_project_file_replaces_the_user_files_profile(project, environ):
    write(user_file(environ), '[profiles.review]\nextends = "codex"\ndescription = "user"\n')
    write(project / "chorus.toml", '[profiles.review]\nextends = "claude"\ndescription = "project"\n')
    profile = get_profile("review", project, environ)
    assert (profile.extends, profile.description) == ("claude", "project")


def test_profiles_may_extend_user_profiles_in_any_order(project, environ):
    write(
        project / "chorus.toml",
        """
        [profiles.child]
        extends = "parent"
        cwd = "web"

        [profiles.parent]
        extends = "aider"
        command = ["aider", "--no-auto-commits"]
        """,
    )
    child = get_profile("child", project, environ)
    assert child.command == ("aider", "--no-auto-commits")
    assert child.extends == "parent"
    assert child.working_directory(project) == project / "web"
    assert child.fallback_status == Status.BUSY


def test_new_program_profile(project, environ):
    write(
        project / "chorus.toml",
        """
        [profiles.goose]
        command = ["/opt/goose/bin/goose", "session"]
        fallback_status = "busy"

        [[profiles.goose.rules]]
        name = "goose.prompt"
        status = "idle"
        pattern = '^\\( O\\)>'
        region = "bottom:2"
        """,
    )
    profile = get_profile("goose", project, environ)
    assert profile.process_names == ("goose",)
    assert profile.extends is None
    assert {rule.name for rule in GENERIC_DIALOG_RULES} < {rule.name for rule in profile.rules}
    assert detect(profile, Observation(screen="( O)> \n", pane_current_command="goose")).rule == "goose.prompt"
    assert detect(profile, Observation(screen="thinking\n", pane_current_command="goose")).status == Status.BUSY
    stopped = detect(profile, Observation(screen="( O)> \n", pane_current_command="zsh"))
    assert stopped.reason == "process.foreground_shell: foreground command is zsh, not goose"


def test_another_program_extending_a_profile_gets_its_own_process_name(project, environ):
    write(project / "chorus.toml", '[profiles.wrapped]\nextends = "claude"\ncommand = ["/opt/bin/cc-wrapper"]\n')
    assert get_profile("wrapped", project, environ).process_names == ("cc-wrapper",)


def test_generic_rules_can_be_left_out(project, environ):
    write(project / "chorus.toml", '[profiles.bare]\ncommand = ["tool"]\ngeneric_rules = false\n')
    assert get_profile("bare", project, environ).rules == ()


# --- Bad files: one line naming the file and the problem ------------------------------------------------------

BAD_FILES = [
    ('[profiles.x\ncommand = ["x"]\n', "invalid TOML"),
    ("profiles = 3\n", "'profiles' must be a table"),
    ('[profiles."bad name"]\ncommand = ["x"]\n', "invalid profile name 'bad name'"),
    ('[profiles.x]\ncommand = ["x"]\ncomand = ["y"]\n', "profiles.x: unknown key 'comand'"),
    ("[profiles.x]\ndescription = 'no command'\n", "profiles.x: 'command' is required"),
    ('[profiles.x]\ncommand = "x --flag"\n', "profiles.x: 'command' must be a list of strings"),
    ('[profiles.x]\ncommand = ["x", 3]\n', "profiles.x: 'command' must be a list of strings"),
    ('[profiles.x]\nextends = "cluade"\n', "profiles.x: extends unknown profile 'cluade' (known: aider, claude"),
    ('[profiles.a]\nextends = "b"\n[profiles.b]\nextends = "a"\n', "'extends' loops: a -> b -> a"),
    ('[profiles.x]\nextends = "claude"\nenv = { A = 1 }\n', "profiles.x: 'env' must be a table of strings"),
    (
        '[profiles.x]\nextends = "claude"\ndelivery = { enter_dealy = 1 }\n',
        "profiles.x: delivery: unknown key 'enter_dealy' (allowed: enter_delay, interrupt_key, submit_key,",
    ),
    (
        '[profiles.x]\nextends = "claude"\ndelivery = { enter_delay = "slow" }\n',
        "profiles.x: delivery: 'enter_delay' must be a valid number, not 'slow'",
    ),
    (
        '[profiles.x]\nextends = "claude"\ndelivery = { enter_delay = -1 }\n',
        "profiles.x: delivery: 'enter_delay' must be greater than or equal to 0, not -1",
    ),
    (
        '[profiles.x]\nextends = "claude"\ngeneric_rules = false\n',
        "profiles.x: 'generic_rules' applies only to a profile that extends none",
    ),
    (
        '[profiles.x]\nextends = "claude"\n[[profiles.x.rules]]\nname = "x.a"\nstatus = "bussy"\npattern = "a"\n',
        "profiles.x: rules[0]: 'status' must be one of idle, busy, waiting, stopped, not 'bussy'",
    ),
    (
        '[profiles.x]\nextends = "claude"\n[[profiles.x.rules]]\nname = "x.a"\nstatus = "busy"\npattern = "(a"\n',
        "profiles.x: rules[0]: 'pattern' is not a valid regular expression: missing ), unterminated subpattern",
    ),
    (
        '[profiles.x]\nextends = "claude"\n[[profiles.x.rules]]\nname = "x.a"\nstatus = "busy"\npattern = "a"\n'
        'region = "middle"\n',
        "profiles.x: rules[0]: region must be 'screen', 'title', 'bottom:N' or 'top:N', not 'middle'",
    ),
    (
        '[profiles.x]\nextends = "claude"\n[[profiles.x.rules]]\nstatus = "busy"\npattern = "a"\n',
        "profiles.x: rules[0]: 'name' is required",
    ),
    (
        '[profiles.x]\nextends = "claude"\n[[profiles.x.rules]]\nname = "x.a"\nstatus = "busy"\npattern = "a"\n'
        "priority = true\n",
        "profiles.x: rules[0]: 'priority' must be a valid integer, not True",
    ),
    ('[profiles.x]\nextends = "claude"\nrules = [3]\n', "profiles.x: 'rules[0]' must be a valid dictionary"),
    (
        '[profiles.x]\nextends = "claude"\n[[profiles.x.rules]]\nname = ""\nstatus = "busy"\npattern = "a"\n',
        "profiles.x: rules[0]: 'name' must have at least 1 character, not ''",
    ),
    (
        '[profiles.x]\nextends = "claude"\n[profiles.x.composer]\nprompt = "> "\nplacehodlers = []\n',
        "profiles.x: composer: unknown key 'placehodlers' (allowed: above, below, clear_keys, clears_on_submit,",
    ),
    (
        '[profiles.x]\nextends = "claude"\n[profiles.x.composer]\nbelow = "[x"\n',
        "profiles.x: composer: 'below' is not a valid regular expression",
    ),
    (
        '[profiles.x]\ncommand = ["x"]\n[profiles.x.composer]\nregion = 3\n',
        "profiles.x: composer: 'prompt' is required unless the profile extends one with a composer",
    ),
    (
        '[profiles.x]\nextends = "claude"\n[profiles.x.composer]\nregion = 0\n',
        "profiles.x: composer: 'region' must be greater than or equal to 1, not 0",
    ),
    ('[profiles.x]\nextends = "claude"\ndialog = { markers = "a" }\n', "profiles.x: dialog: markers must be one or"),
    (
        '[profiles.x]\nextends = "claude"\nenv = { "MY-KEY" = "x" }\n',
        "profiles.x: 'env' bad environment variable name 'MY-KEY': letters, digits and '_', not first a digit",
    ),
    (
        '[profiles.x]\nextends = "claude"\ncomposer = { clear_keys = ["C-u"] }\n',
        "profiles.x: composer: 'clear_keys' keys not allowed: C-u",
    ),
    (
        '[profiles.x]\nextends = "claude"\nself_report = "cluade_session_file"\n',
        "profiles.x: 'self_report' must be one of claude_session_file (or \"\" for none), not 'cluade_session_file'",
    ),
]


@pytest.mark.parametrize(("text", "problem"), BAD_FILES, ids=[problem for _, problem in BAD_FILES])
def test_bad_file_gives_one_line_naming_file_and_problem(project, environ, text, problem):
    path = write(project / "chorus.toml", text)
    with pytest.raises(ProfileConfigError) as raised:
        get_profile("claude", project, environ)
    message = str(raised.value)
    assert message.startswith(f"{path}: ")
    assert problem in message
    assert "\n" not in message


def test_bad_user_file_is_named_too(project, environ):
    path = write(user_file(environ), "[profiles.x]\nextends = 3\n")
    with pytest.raises(ProfileConfigError, match="'extends' must be a valid string, not 3") as raised:
        load_profiles(project, environ)
    assert str(raised.value).startswith(f"{path}: profiles.x: ")


# --- Every signal settable in TOML ----------------------------------------------------------------------------


def test_composer_dialog_delivery_and_self_report_of_a_new_program(project, environ):
    write(
        project / "chorus.toml",
        """
        [profiles.goose]
        command = ["goose", "session"]
        self_report = "claude_session_file"
        delivery = { enter_delay = 0.3, use_bracketed_paste = false, submit_key = "Enter" }
        env = { GOOSE_MODE = "auto" }

        [profiles.goose.composer]
        prompt = '^\\( O\\)> ?(?P<text>.*)$'
        placeholders = ["Ask goose"]
        region = 2
        clears_on_submit = false
        clear_keys = ["Escape", "Escape"]

        [profiles.goose.dialog]
        markers = "◆"
        region = 10
        """,
    )
    profile = get_profile("goose", project, environ)
    assert profile.composer == Composer(
        prompt=r"^\( O\)> ?(?P<text>.*)$",
        placeholders=("Ask goose",),
        region=2,
        clears_on_submit=False,
        clear_keys=("Escape", "Escape"),
    )
    assert profile.draft("( O)> Ask goose\n") == ""
    assert profile.draft("( O)> write the release notes\n") == "write the release notes"
    assert profile.dialog == Dialog(markers="◆", region=10)
    assert profile.dialog_options("Pick:\n ◆ 1. this\n   2. that\n") == [("1", "this"), ("2", "that")]
    # the generic menu rule follows the profile's markers
    assert detect(profile, Observation(screen="Pick:\n ◆ 1. this\n   2. that\n")).rule == "generic.option_menu"
    assert profile.self_report is SELF_REPORTS["claude_session_file"]
    assert (profile.delivery.enter_delay, profile.delivery.use_bracketed_paste) == (0.3, False)
    assert dict(profile.environment) == {"GOOSE_MODE": "auto"}


def test_an_extending_profile_changes_only_the_keys_it_sets(project, environ):
    write(
        project / "chorus.toml",
        """
        [profiles.quiet]
        extends = "codex"
        self_report = ""
        composer = { placeholders = ["Type here"] }
        dialog = { markers = "›" }
        """,
    )
    profile, codex = get_profile("quiet", project, environ), BUILTIN_PROFILES["codex"]
    assert profile.composer.prompt == codex.composer.prompt
    assert profile.composer.placeholders == ("Type here",)
    assert profile.dialog == dataclasses.replace(codex.dialog, markers="›")
    assert profile.self_report is None
    assert get_profile("claude", project, environ).self_report is SELF_REPORTS["claude_session_file"]
    menus = [rule for rule in profile.rules if rule.menu]
    assert menus and all(rule.pattern == Dialog(markers="›").menu_pattern() for rule in menus)


def test_an_unchanged_file_is_read_once(project, environ, monkeypatch):
    path = write(project / "chorus.toml", '[profiles.x]\nextends = "shell"\n')
    old = path.stat().st_mtime_ns - 5_000_000_000
    os.utime(path, ns=(old, old))
    first = load_profiles(project, environ)
    path.write_text('[profiles.x]\nextends = "aider"\n')
    os.utime(path, ns=(old, old))  # the same stamp and size: the cached profiles stand
    assert load_profiles(project, environ)["x"] is first["x"]
    path.write_text('[profiles.x]\nextends = "codex"\n')  # a fresh stamp: read again
    assert load_profiles(project, environ)["x"].extends == "codex"


def test_only_the_agents_are_agents_and_a_profile_says_so_in_toml(project, environ):
    write(
        project / "chorus.toml",
        """
        [profiles.my-tool]
        command = ["my-tool"]
        [profiles.my-agent]
        command = ["my-agent"]
        agent = true
        [profiles.opus]
        extends = "claude"
        [profiles.sh-agent]
        extends = "shell"
        agent = true
        """,
    )
    profiles = load_profiles(project, environ)
    agents = {name for name, profile in profiles.items() if profile.agent}
    # a program that extends none is no agent unless it says so; an extending profile inherits
    assert agents == {"claude", "codex", "gemini", "aider", "my-agent", "opus", "sh-agent"}


def test_isolation_is_shared_unless_a_profile_says_worktree_and_is_inherited(project, environ):
    write(
        project / "chorus.toml",
        '[profiles.alone]\nextends = "claude"\nisolation = "worktree"\n\n[profiles.alone2]\nextends = "alone"\n',
    )
    assert get_profile("claude", project, environ).isolation == "shared"
    assert get_profile("alone", project, environ).isolation == "worktree"
    assert get_profile("alone2", project, environ).isolation == "worktree"
    write(project / "chorus.toml", '[profiles.odd]\nextends = "claude"\nisolation = "sandbox"\n')
    with pytest.raises(ProfileConfigError, match="'isolation' must be 'shared' or 'worktree', not 'sandbox'"):
        get_profile("odd", project, environ)


# --- the texts a rule's matches hold


@pytest.mark.parametrize(
    ("pattern", "flags", "expected"),
    [
        (r"esc to interrupt", 0, (("esc to interrupt",),)),
        (r"^Do you (?:want|trust)\b[^\n]*\?", 0, (("Do you ",), ("want", "trust"))),
        (r"[❯>] x+y", 0, (("❯", ">"), ("x",))),
        # optional, negated, case-insensitive and blank parts demand nothing
        (r"(?:maybe)?[^ab]\s*(?i:Yes)\n", 0, ()),
        (r"esc to interrupt", re.IGNORECASE, ()),
        (r"(?i)esc to interrupt", 0, ()),
        # an alternation demands something only if every branch does
        (r"Allow|\d+ files", 0, (("Allow", " files"),)),
        (r"Allow|\d+", 0, ()),
    ],
)
def test_required_texts(pattern, flags, expected):
    assert required_texts(pattern, flags) == expected


def test_a_rule_passes_over_text_without_what_its_matches_hold():
    rule = Rule("r", Status.BUSY, r"esc to (?:interrupt|cancel)", Region.bottom(3), 1, unless="never")
    assert rule.required == (("esc to ",), ("interrupt", "cancel"))
    assert rule.search("  esc to cancel\n").group(0) == "esc to cancel"
    assert rule.search("  esc to go\n") is None
    unless = dataclasses.replace(rule, unless="cancel")
    assert unless.search("  esc to cancel\n") is None


def test_every_built_in_rule_finds_on_every_recorded_screen_what_its_pattern_finds():
    """The pass-over is only a shortcut: on the screens agents really drew, each rule, in each of its regions'
    cuts, finds exactly what a search with its pattern finds."""
    rules = {rule for profile in BUILTIN_PROFILES.values() for rule in profile.rules}
    texts = [capture.observation.screen for capture in s.captures()]
    texts += [value for name, value in vars(s).items() if name.isupper() and isinstance(value, str)]
    cuts = {"\n".join(text.split("\n")[-lines:]) for text in texts for lines in (1, 2, 5, 15, 25, 1000)}
    assert sum(1 for rule in rules if rule.required) >= 10
    matched = 0
    for rule in rules:
        for text in cuts:
            match = rule.regex.search(text)
            expected = (
                match if match is not None and not (rule.unless_regex and rule.unless_regex.search(text)) else None
            )
            found = rule.search(text)
            assert (found and found.group(0)) == (expected and expected.group(0)), (rule.name, text)
            matched += found is not None
    assert matched >= 50
