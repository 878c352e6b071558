"""`manage.py detect_status`: the worker's detection over captured screens, one FILE<TAB>STATUS<TAB>REASON line each."""

from __future__ import annotations

import io
import subprocess

import pytest
from django.core.management import CommandError, call_command

from tests.sessions_app import screens as s


@pytest.fixture(autouse=True)
def isolated_profiles(settings, tmp_path, monkeypatch):
    """No user profile files but the ones a test writes: an empty project root and XDG config directory."""
    settings.PROJECT_ROOT = tmp_path / "project"
    settings.PROJECT_ROOT.mkdir()
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))


def detect_status(*args: str, stdin: str | None = None) -> list[list[str]]:
    out = io.StringIO()
    options = {"stdin": io.StringIO(stdin)} if stdin is not None else {}
    call_command("detect_status", *args, stdout=out, **options)
    return [line.split("\t") for line in out.getvalue().splitlines()]


def test_classifies_each_live_capture():
    live = [c for c in s.captures() if c.expected != "stopped"]
    rows = detect_status("--current-command", "claude.exe", *(str(s.FIXTURES / f"{c.name}.txt") for c in live))
    assert [row[0] for row in rows] == [str(s.FIXTURES / f"{c.name}.txt") for c in live]
    assert [row[1] for row in rows] == [c.expected for c in live]
    assert all(len(row) == 3 and row[2].startswith("rule claude.") for row in rows)


def test_stopped_captures_with_their_metadata():
    [[_, status, reason]] = detect_status("--current-command", "bash", str(s.FIXTURES / "stopped_3.txt"))
    assert (status, reason) == ("stopped", "process.foreground_shell: foreground command is bash, not claude")
    [[_, status, reason]] = detect_status(
        "--pane-dead", "1", "--pane-dead-status", "130", str(s.FIXTURES / "stopped_2.txt")
    )
    assert (status, reason) == ("stopped", "pane.dead: pane dead (exit 130)")


def test_reads_stdin_with_a_profile_and_a_title():
    [[name, status, reason]] = detect_status(
        "--profile", "codex", "--pane-title", "⠙ proj", "-", stdin=s.CODEX_STREAMING
    )
    assert (name, status) == ("-", "busy")
    assert reason == "rule codex.title_spinner matched '⠙' in the pane title"


def test_shell_profile_with_a_foreground_command(tmp_path):
    capture = tmp_path / "sleep.txt"
    capture.write_text(s.SHELL_SLEEP, encoding="utf-8")
    [[_, status, reason]] = detect_status("--profile", "shell", "--current-command", "sleep", str(capture))
    assert (status, reason) == ("busy", "process.foreground_command: foreground command is sleep, not the shell")


def test_uses_user_profiles_from_the_project(settings, tmp_path):
    (settings.PROJECT_ROOT / "chorus.toml").write_text(
        '[profiles.mine]\nextends = "shell"\n[[profiles.mine.rules]]\n'
        'name = "mine.deploying"\nstatus = "busy"\npattern = "deploying"\n',
        encoding="utf-8",
    )
    [[_, status, reason]] = detect_status("--profile", "mine", "-", stdin="deploying to staging\n")
    assert (status, reason) == ("busy", "rule mine.deploying matched 'deploying' in the bottom 15 lines")


def test_unknown_profile():
    with pytest.raises(CommandError, match=r"unknown profile 'nope' \(known: aider, claude, codex, gemini, shell\)"):
        detect_status("--profile", "nope", str(s.FIXTURES / "idle_1.txt"))


def test_missing_file_prints_nothing_else(tmp_path):
    out = io.StringIO()
    with pytest.raises(CommandError, match=r"missing\.txt: no such file"):
        call_command("detect_status", str(s.FIXTURES / "idle_1.txt"), str(tmp_path / "missing.txt"), stdout=out)
    assert out.getvalue() == ""


def test_bad_profile_file(settings):
    (settings.PROJECT_ROOT / "chorus.toml").write_text("[profiles.x\n", encoding="utf-8")
    with pytest.raises(CommandError, match=r"chorus\.toml: invalid TOML"):
        detect_status(str(s.FIXTURES / "idle_1.txt"))


@pytest.mark.integration
def test_command_line_error_is_one_line_and_a_failure(manage, subprocess_env, tmp_path):
    subprocess_env.update(PROJECT_ROOT=str(tmp_path), XDG_CONFIG_HOME=str(tmp_path / "config"))
    result = subprocess.run(
        [*manage, "detect_status", str(tmp_path / "missing.txt")],
        env=subprocess_env,
        capture_output=True,
        encoding="utf-8",
        timeout=60,
    )
    assert result.returncode != 0
    assert result.stdout == ""
    assert result.stderr.strip().splitlines() == [f"CommandError: {tmp_path / 'missing.txt'}: no such file"]


@pytest.mark.integration
def test_command_line_reads_stdin(manage, subprocess_env, tmp_path):
    subprocess_env.update(PROJECT_ROOT=str(tmp_path), XDG_CONFIG_HOME=str(tmp_path / "config"))
    result = subprocess.run(
        [*manage, "detect_status", "-"],
        env=subprocess_env,
        input=s.fixture("permission_1"),
        capture_output=True,
        encoding="utf-8",
        timeout=60,
        check=True,
    )
    [line] = result.stdout.splitlines()
    assert line.startswith(
        "-\twaiting\trule claude.permission_dialog matched 'Do you want to proceed?' in the bottom 15 lines; "
        "asks 'Do you want to proceed?': 1 Yes / 2 "
    )
