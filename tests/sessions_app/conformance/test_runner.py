"""The kit's pure parts: where the pinned CLIs live, the scratch environment, and the report a person reads."""

from pathlib import Path

import pytest

from sessions_app.conformance import runner
from sessions_app.conformance.clis import CLIS, CliMissing, cache_dir
from sessions_app.conformance.runner import Report, Seen, Step


def test_the_pinned_versions_are_those_the_issue_measured():
    assert {name: cli.spec for name, cli in CLIS.items()} == {
        "claude": "@anthropic-ai/claude-code@2.1.330",
        "codex": "@openai/codex@0.169.0",
        "gemini": "@google/gemini-cli@0.61.0",
    }


def test_the_cache_is_the_variable_or_a_default_under_home():
    assert cache_dir({"CHORUS_AGENT_CLIS": "/srv/clis"}) == Path("/srv/clis")
    assert cache_dir({}) == Path.home() / ".cache" / "chorus" / "agent-clis"


def test_a_pinned_cli_in_the_cache_is_found_and_a_missing_one_says_how_to_get_it(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    cli = CLIS["codex"]
    with pytest.raises(CliMissing, match=r"codex is not installed .*chorus conformance codex --install"):
        cli.find(cache=tmp_path)
    binary = tmp_path / "@openai" / "codex@0.169.0" / "node_modules" / ".bin" / "codex"
    binary.parent.mkdir(parents=True)
    binary.write_text("")
    assert cli.find(cache=tmp_path) == binary


def test_the_scratch_environment_keeps_everything_in_the_scratch_directory(tmp_path, monkeypatch):
    monkeypatch.setenv("SHELL", "/bin/sh")
    monkeypatch.setenv("ANTHROPIC_API_KEY", "a real key that must not leak in")
    env = runner.scratch_environment(tmp_path, Path("/cache/node_modules/.bin/claude"))
    assert env["HOME"] == str(tmp_path / "home") and env["PROJECT_ROOT"] == str(tmp_path / "project")
    assert env["CHORUS_DATA_DIR"] == str(tmp_path / "data") and env["CHORUS_TMUX_SOCKET"] == str(tmp_path / "tmux.sock")
    assert env["PATH"].startswith("/cache/node_modules/.bin")
    assert "ANTHROPIC_API_KEY" not in env
    # dash would not exec a one-word command, and the pane would show `sh`
    assert env["SHELL"].endswith("bash")


def test_a_step_that_fails_fails_the_run_unless_optional_or_expected(monkeypatch):
    monkeypatch.setitem(runner.EXPECTED_FAILURES, ("codex", "known"), "issue 14 item 6")
    report = Report("codex")
    report.step("fine").ok = True
    report.step("broken").ok = False
    report.step("optional", required=False).ok = False
    known = report.step("known")
    known.ok = False
    assert [step.name for step in report.failed] == ["broken"]
    assert [s.result for s in report.steps] == ["ok", "FAIL", "FAIL", "xfail"]


def test_the_table_names_the_signals_and_their_latencies():
    report = Report("gemini", "0.61.0", steps=[Step("start -> idle", ok=True, detail="idle after 3.0s")])
    report.seen = [
        Seen("busy", 1.0, "gemini.title_working", "title", "", latency=0.05),
        Seen("busy", 2.0, "gemini.esc_to_cancel", "screen", "", latency=0.15),
        Seen("idle", 3.0, "gemini.input_box", "screen", "input box", latency=1.2, step="start -> idle"),
    ]
    text = runner.render(report)
    assert "slowest busy: 150 ms in '': " in text
    assert "slowest idle: 1200 ms in 'start -> idle': input box" in text
    assert "start -> idle  ok       idle after 3.0s" in text
    assert "busy      100 / 150 / 150 ms (n=2)" in text
    assert "gemini.esc_to_cancel (screen), gemini.title_working (title)" in text
    assert "waiting   -                                   never seen" in text


def test_the_latency_p95_is_the_nearest_rank():
    latencies = [0.01 * n for n in range(1, 21)]
    assert runner.latency_summary(latencies) == "105 / 190 / 200 ms (n=20)"
    assert runner.latency_summary([None]) == "-"


def test_a_latency_runs_from_when_the_kit_first_saw_the_status_to_when_chorus_recorded_it():
    shown = [("idle", 0.0), ("busy", 10.0), ("idle", 12.0), ("busy", 13.0), ("waiting", 14.0)]
    seen = [
        Seen("busy", 10.2, "r", "title", ""),
        Seen("idle", 13.0, "r", "screen", ""),
        # Chorus first: the agent's self-report came before the screen the kit looked at
        Seen("waiting", 13.95, "self_report", "self_report", ""),
        Seen("stopped", 20.0, "killed", "service", ""),
    ]
    runner.measure(seen, shown)
    assert [item.latency for item in seen] == [pytest.approx(0.2), pytest.approx(1.0), 0.0, None]


def test_a_status_recorded_while_the_kit_did_not_look_gets_no_latency():
    """Between two watchers (the restart makes a new pane), the last status the first one saw is no cause."""
    shown = [("busy", 1.0), ("idle", 2.0)]
    seen = [Seen("idle", 2.1, "r", "screen", ""), Seen("idle", 9.0, "r", "screen", "")]
    runner.measure(seen, shown, window=(0.5, 3.0))
    assert [item.latency for item in seen] == [pytest.approx(0.1), None]


def test_a_status_recorded_in_the_same_batch_as_the_one_waited_for_is_left_for_the_next_wait(monkeypatch, tmp_path):
    drive = runner.Drive(CLIS["gemini"], tmp_path)
    batches = [[Seen("busy", 1.0, "r", "title", ""), Seen("idle", 1.5, "r", "screen", "")]]
    monkeypatch.setattr(drive, "status_changes", lambda _recorded: batches.pop(0) if batches else [])
    monkeypatch.setattr(drive, "events", lambda: [])

    drive.report.step("a prompt")
    assert drive.wait_for({"busy"}, timeout=1).status == "busy"
    assert drive.wait_for({"idle"}, timeout=1).status == "idle"
    assert [seen.step for seen in drive.report.seen] == ["a prompt", "a prompt"]
