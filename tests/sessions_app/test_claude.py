import json
import subprocess
import sys
import time

import psutil
import pytest

from sessions_app.claude import SessionFileFinder


@pytest.fixture
def agent_tree():
    """A parent (the pane's shell) with a child (the agent), both real processes."""
    parent = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import subprocess,sys; subprocess.run([sys.executable,'-c','import time; time.sleep(60)'])",
        ]
    )
    for _ in range(100):
        children = psutil.Process(parent.pid).children()
        if children:
            break
        time.sleep(0.05)
    yield parent.pid, children[0].pid
    for child in children:
        child.kill()
    parent.kill()
    parent.wait()


def _write(directory, pid, **data):
    (directory / f"{pid}.json").write_text(json.dumps({"pid": pid, **data}))


def test_reads_the_status_of_the_agent_under_the_pane(tmp_path, agent_tree):
    pane_pid, agent_pid = agent_tree
    _write(tmp_path, agent_pid, status="waiting", waitingFor="permission prompt")
    report = SessionFileFinder(tmp_path).report(pane_pid)
    assert (report.status, report.waiting_for, report.pid) == ("waiting", "permission prompt", agent_pid)


def test_follows_changes_without_rescanning(tmp_path, agent_tree):
    pane_pid, agent_pid = agent_tree
    finder = SessionFileFinder(tmp_path)
    _write(tmp_path, agent_pid, status="busy")
    assert finder.report(pane_pid).status == "busy"
    _write(tmp_path, agent_pid, status="idle")
    assert finder.report(pane_pid).status == "idle"


def test_a_stale_file_of_a_dead_pid_is_ignored(tmp_path):
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    _write(tmp_path, dead.pid, status="idle")
    assert SessionFileFinder(tmp_path).report(dead.pid) is None


def test_unknown_status_or_broken_json_is_no_report(tmp_path, agent_tree):
    pane_pid, agent_pid = agent_tree
    _write(tmp_path, agent_pid, status="shell")
    assert SessionFileFinder(tmp_path).report(pane_pid) is None
    (tmp_path / f"{agent_pid}.json").write_text("{broken")
    assert SessionFileFinder(tmp_path, rescan_seconds=0).report(pane_pid) is None
