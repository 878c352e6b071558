import json
import subprocess
import sys
import time

import psutil
import pytest

from sessions_app import claude
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
    path = directory / f"{pid}.json"
    path.write_text(json.dumps({"pid": pid, **data}))
    return path


@pytest.mark.integration
def test_reads_the_status_of_the_agent_under_the_pane(tmp_path, agent_tree):
    pane_pid, agent_pid = agent_tree
    _write(tmp_path, agent_pid, status="waiting", waitingFor="permission prompt")
    finder = SessionFileFinder(tmp_path)
    finder.refresh({pane_pid})
    report = finder.report(pane_pid)
    assert (report.status, report.waiting_for, report.pid) == ("waiting", "permission prompt", agent_pid)
    assert finder.report(12345678) is None


@pytest.mark.integration
def test_follows_changes_and_new_files(tmp_path, agent_tree):
    pane_pid, agent_pid = agent_tree
    finder = SessionFileFinder(tmp_path)
    finder.refresh({pane_pid})
    assert finder.report(pane_pid) is None
    path = _write(tmp_path, agent_pid, status="busy")
    finder.refresh({pane_pid})
    assert finder.report(pane_pid).status == "busy"
    time.sleep(0.01)
    _write(tmp_path, agent_pid, status="idle")
    finder.refresh({pane_pid})
    assert finder.report(pane_pid).status == "idle"
    path.unlink()
    finder.refresh({pane_pid})
    assert finder.report(pane_pid) is None


@pytest.mark.integration
def test_a_stale_file_of_a_dead_pid_is_ignored(tmp_path):
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    _write(tmp_path, dead.pid, status="idle")
    finder = SessionFileFinder(tmp_path)
    finder.refresh({dead.pid})
    assert finder.report(dead.pid) is None


@pytest.mark.integration
def test_unknown_status_or_broken_json_is_no_report(tmp_path, agent_tree):
    pane_pid, agent_pid = agent_tree
    _write(tmp_path, agent_pid, status="shell")
    finder = SessionFileFinder(tmp_path)
    finder.refresh({pane_pid})
    assert finder.report(pane_pid) is None
    (tmp_path / f"{agent_pid}.json").write_text("{broken")
    assert finder.report(pane_pid) is None


@pytest.mark.integration
def test_a_missing_directory_is_no_report(tmp_path, agent_tree):
    finder = SessionFileFinder(tmp_path / "absent")
    finder.refresh({agent_tree[0]})
    assert finder.report(agent_tree[0]) is None


@pytest.mark.integration
def test_hook_settings_cover_the_events_and_write_atomically(tmp_path):
    settings = json.loads(claude.hook_settings())
    assert set(settings["hooks"]) == set(claude.HOOK_EVENTS)
    command = settings["hooks"]["UserPromptSubmit"][0]["hooks"][0]["command"]
    payload = json.dumps({"hook_event_name": "UserPromptSubmit", "prompt": "hi; rm -rf / $(x)"})
    subprocess.run(["sh", "-c", command], input=payload, text=True, env={"CHORUS_HOOK_DIR": str(tmp_path)}, check=True)
    assert claude.read_hook_events(tmp_path) == [json.loads(payload)]
    assert list(tmp_path.iterdir()) == []


@pytest.mark.integration
def test_hooks_without_their_directory_exit_quietly(tmp_path):
    command = json.loads(claude.hook_settings())["hooks"]["Stop"][0]["hooks"][0]["command"]
    result = subprocess.run(["sh", "-c", command], input="{}", capture_output=True, text=True, env={})
    assert result.returncode == 0 and result.stderr == ""


def test_user_disabled_hooks_is_detected(tmp_path):
    (tmp_path / ".claude").mkdir()
    assert not claude.user_disabled_hooks(tmp_path)
    (tmp_path / ".claude" / "settings.json").write_text('{"disableAllHooks": true}')
    assert claude.user_disabled_hooks(tmp_path)
