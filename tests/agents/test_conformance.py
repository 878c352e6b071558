"""The conformance kit against the three pinned agent CLIs (`-m agents`): each runs through Chorus against its
stand-in model server, and every required step must pass (or be a listed expected failure of another fix).

The CLIs come from the cache (`CHORUS_AGENT_CLIS`, filled by .ci/run with `chorus conformance P --install`); locally
an installed one does too, and a missing one skips. In CI a missing CLI fails."""

import json
import subprocess
import sys

import pytest

from sessions_app.conformance import runner
from sessions_app.conformance.clis import CLIS, CliMissing
from tests.conftest import IN_CI, ROOT

pytestmark = pytest.mark.agents

ALLOWED = {"ok", "xfail", "xpass", "skipped"}


def _cli_or_skip(profile: str) -> None:
    try:
        CLIS[profile].find(use_installed=not IN_CI)
    except CliMissing as exc:
        if IN_CI:
            pytest.fail(str(exc))
        pytest.skip(str(exc))


def run_kit(profile: str, environment: dict) -> tuple[subprocess.CompletedProcess, dict]:
    command = [sys.executable, str(ROOT / "manage.py"), "conformance", profile, "--json"]
    if IN_CI:
        command.append("--pinned")
    done = subprocess.run(command, env=environment, capture_output=True, text=True, timeout=560)
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    assert lines, f"no report from the kit (exit {done.returncode}): {done.stderr[-2000:]}"
    return done, json.loads(lines[-1])


@pytest.mark.timeout(600)
@pytest.mark.parametrize("profile", sorted(CLIS))
def test_the_kit_passes_for_the_pinned_cli(profile, subprocess_env):
    _cli_or_skip(profile)
    done, data = run_kit(profile, subprocess_env)
    report = runner.Report(
        profile=data["profile"],
        version=data["version"],
        steps=[runner.Step(**step) for step in data["steps"]],
        seen=[runner.Seen(**seen) for seen in data["seen"]],
        requests=data["requests"],
    )
    print(runner.render(report))  # the table, in the test's log
    required = {step.name: step.result for step in report.steps if step.required}
    assert set(required.values()) <= ALLOWED, required
    assert done.returncode == 0, done.stderr[-2000:]
    # Every prompt reached the model exactly once and each status was seen through Chorus.
    assert {seen.status for seen in report.seen} >= {"busy", "waiting", "idle", "stopped"}
