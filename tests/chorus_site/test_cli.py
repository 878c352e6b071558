import subprocess

import pytest

from chorus_site.cli import translate


@pytest.mark.parametrize(
    ("argv", "commands"),
    [
        (["events", "tail", "--json"], [["events", "--follow", "--json"]]),
        (["scan"], [["scan_documents"]]),
        (["verify"], [["verify_events"], ["verify_projections"]]),
        (["sessions", "list"], [["sessions", "list"]]),
    ],
)
def test_spellings_map_to_manage_commands(argv, commands):
    assert translate(argv) == commands


@pytest.mark.integration
@pytest.mark.django_db(transaction=True)
def test_the_console_script_runs_a_command_and_reports_errors(subprocess_env):
    ok = subprocess.run(["chorus", "verify"], env=subprocess_env, capture_output=True, text=True)
    assert ok.returncode == 0, ok.stderr
    assert "hash chain and versions intact" in ok.stdout
    bad = subprocess.run(["chorus", "sessions", "kill", "ghost"], env=subprocess_env, capture_output=True, text=True)
    assert bad.returncode == 1
    assert bad.stderr.strip() == "CommandError: no session named 'ghost'"
