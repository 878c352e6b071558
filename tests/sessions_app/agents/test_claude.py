"""Claude Code's self-report plug-in: its session file mapped to panes, its hooks, what it adds at launch."""

import json
import subprocess
import time
from pathlib import Path
from types import SimpleNamespace

import pytest

from sessions_app.agents import SELF_REPORTS, claude
from sessions_app.agents.claude import SessionFileFinder
from sessions_app.self_report import EditRequest, FileWrite, Signal
from sessions_app.worker import SessionMonitor

PANE, AGENT = 4100, 4101


class Processes:
    """A process table: pid -> parent (None at the top); a pid not in it is gone."""

    def __init__(self, parents: dict[int, int | None]):
        self.parents = parents

    def lineage(self, pid):
        chain = []
        while pid in self.parents:
            chain.append(pid)
            pid = self.parents[pid]
        return chain

    def alive(self, pid):
        return pid in self.parents


@pytest.fixture
def processes():
    """The pane's shell with the agent under it."""
    return Processes({1: None, PANE: 1, AGENT: PANE})


def _write(directory, pid, **data):
    path = directory / f"{pid}.json"
    path.write_text(json.dumps({"pid": pid, **data}))
    return path


def test_reads_the_status_of_the_agent_under_the_pane(tmp_path, processes):
    _write(tmp_path, AGENT, status="waiting", waitingFor="permission prompt")
    finder = SessionFileFinder(tmp_path, processes)
    finder.refresh({PANE})
    report = finder.report(PANE)
    assert (report.status, report.waiting_for, report.pid, report.source) == (
        "waiting",
        "permission prompt",
        AGENT,
        "Claude Code session file",
    )
    assert finder.report(12345678) is None


def test_a_file_of_a_process_outside_the_pane_is_not_its_report(tmp_path, processes):
    processes.parents[5000] = 1
    _write(tmp_path, 5000, status="busy")
    finder = SessionFileFinder(tmp_path, processes)
    finder.refresh({PANE})
    assert finder.report(PANE) is None


def test_follows_changes_and_new_files(tmp_path, processes):
    finder = SessionFileFinder(tmp_path, processes)
    finder.refresh({PANE})
    assert finder.report(PANE) is None
    path = _write(tmp_path, AGENT, status="busy")
    finder.refresh({PANE})
    assert finder.report(PANE).status == "busy"
    time.sleep(0.01)
    _write(tmp_path, AGENT, status="idle")
    finder.refresh({PANE})
    assert finder.report(PANE).status == "idle"
    path.unlink()
    finder.refresh({PANE})
    assert finder.report(PANE) is None


def test_a_stale_file_of_a_dead_pid_is_ignored(tmp_path, processes):
    _write(tmp_path, AGENT, status="idle")
    finder = SessionFileFinder(tmp_path, processes)
    finder.refresh({PANE})
    assert finder.report(PANE).status == "idle"
    del processes.parents[AGENT]
    assert finder.report(PANE) is None


def test_unknown_status_or_broken_json_is_no_report(tmp_path, processes):
    _write(tmp_path, AGENT, status="shell")
    finder = SessionFileFinder(tmp_path, processes)
    finder.refresh({PANE})
    assert finder.report(PANE) is None
    (tmp_path / f"{AGENT}.json").write_text("{broken")
    assert finder.report(PANE) is None


def test_a_missing_directory_is_no_report(tmp_path, processes):
    finder = SessionFileFinder(tmp_path / "absent", processes)
    finder.refresh({PANE})
    assert finder.report(PANE) is None


def test_the_plugin_is_registered_under_its_profile_name():
    assert SELF_REPORTS["claude_session_file"] is claude.SESSION_FILE
    assert claude.PROFILE.self_report is claude.SESSION_FILE


def test_launch_prepares_an_empty_private_hook_directory_and_passes_the_hooks(tmp_path):
    hooks = tmp_path / "hooks" / "s1"
    hooks.mkdir(parents=True)
    (hooks / "old.json").write_text("{}")
    launch = claude.SESSION_FILE.launch(hooks)
    assert list(hooks.iterdir()) == [hooks / claude.FILES_DIR] and hooks.stat().st_mode & 0o777 == 0o700
    assert launch.arguments == ("--settings", claude.hook_settings())
    assert dict(launch.environment) == {"CHORUS_HOOK_DIR": str(hooks)}


def test_hook_payloads_become_signals_and_are_consumed(tmp_path):
    payloads = [
        {"hook_event_name": "UserPromptSubmit", "prompt": "fix it"},
        {"hook_event_name": "StopFailure", "error": "rate limited"},
        {"hook_event_name": "Stop"},
        {"hook_event_name": "Notification"},
    ]
    for index, payload in enumerate(payloads):
        (tmp_path / f"{index:03d}-1.json").write_text(json.dumps(payload))
    (tmp_path / "004-1.part").write_text("{")
    assert claude.SESSION_FILE.signals(tmp_path) == [
        Signal("prompt_accepted", "fix it"),
        Signal("error", "rate limited"),
        Signal("activity"),
    ]
    assert [path.name for path in tmp_path.iterdir()] == ["004-1.part"]


def test_a_pasted_task_prompt_reported_in_its_tags_confirms_the_delivery(tmp_path):
    """Claude reports a pasted prompt wrapped in <pasted_content id=...>, with its own line ends and spacing."""
    typed = "Task 7: fix the parser\n\nLines 10-20 of parser.py:\n    def parse(text):"
    reported = (
        '<pasted_content id="1">\r\nTask 7: fix the parser\r\n\r\nLines 10-20 of parser.py:\r\n'
        "  def parse(text):  \r\n</pasted_content>"
    )
    (tmp_path / "001-1.json").write_text(json.dumps({"hook_event_name": "UserPromptSubmit", "prompt": reported}))
    monitor = SessionMonitor(adapter=object())
    monitor._hook_dirs["s1"] = tmp_path
    monitor._read_hooks(SimpleNamespace(name="s1"), claude.SESSION_FILE)
    assert monitor.prompt_accepted("s1", typed, since=0.0)
    assert not monitor.prompt_accepted("s1", "Task 8: something else", since=0.0)


@pytest.mark.integration
def test_hook_settings_cover_the_events_and_write_atomically(tmp_path):
    settings = json.loads(claude.hook_settings())
    assert set(settings["hooks"]) == {*claude.HOOK_EVENTS, "PreToolUse", "PostToolUse"}
    command = settings["hooks"]["UserPromptSubmit"][0]["hooks"][0]["command"]
    payload = json.dumps({"hook_event_name": "UserPromptSubmit", "prompt": "hi; rm -rf / $(x)"})
    subprocess.run(["sh", "-c", command], input=payload, text=True, env={"CHORUS_HOOK_DIR": str(tmp_path)}, check=True)
    assert claude.read_hook_events(tmp_path) == [json.loads(payload)]
    assert list(tmp_path.iterdir()) == []


# A PostToolUse payload exactly as Claude Code sends it after a Write (its hooks reference: common fields, then the
# tool's input and response).
POST_WRITE = {
    "session_id": "abc123",
    "transcript_path": "/home/u/.claude/projects/p/00893aaf-19fa-41d2-8238-13269b9b3ca0.jsonl",
    "cwd": "/work/project",
    "permission_mode": "default",
    "hook_event_name": "PostToolUse",
    "tool_name": "Write",
    "tool_input": {"file_path": "/work/project/src/app.py", "content": "print('hi')\n"},
    "tool_response": {"filePath": "/work/project/src/app.py", "success": True},
    "tool_use_id": "toolu_01ABC123",
}


def test_file_tools_post_their_payloads_into_a_directory_of_their_own():
    [entry] = json.loads(claude.hook_settings())["hooks"]["PostToolUse"]
    assert entry["matcher"] == "Edit|Write|MultiEdit|NotebookEdit"
    assert entry["hooks"][0]["command"].startswith('d="$CHORUS_HOOK_DIR/files";')
    assert entry["hooks"][0]["async"] is True


def test_file_writes_are_read_from_the_post_tool_use_payloads_and_consumed(tmp_path):
    files = tmp_path / claude.FILES_DIR
    files.mkdir()
    notebook = {**POST_WRITE, "tool_name": "NotebookEdit", "tool_input": {"notebook_path": "nb/a.ipynb"}}
    bash = {**POST_WRITE, "tool_name": "Bash", "tool_input": {"command": "touch x"}}
    for index, payload in enumerate([POST_WRITE, notebook, bash, {**POST_WRITE, "tool_input": "?"}]):
        (files / f"{index:03d}-1.json").write_text(json.dumps(payload))
    (tmp_path / "000-2.json").write_text(json.dumps({"hook_event_name": "Stop"}))
    assert claude.SESSION_FILE.files_written(tmp_path) == [
        FileWrite("/work/project/src/app.py", "/work/project"),
        FileWrite("nb/a.ipynb", "/work/project"),
    ]
    assert list(files.iterdir()) == []
    assert [p.name for p in tmp_path.iterdir() if p.is_file()] == ["000-2.json"]  # the worker's signals, untouched
    assert claude.SESSION_FILE.files_written(tmp_path / "gone") == []


@pytest.mark.integration
def test_the_file_hook_writes_the_payload_where_the_watch_reads_it(tmp_path):
    claude.SESSION_FILE.launch(tmp_path / "s1")
    [entry] = json.loads(claude.hook_settings())["hooks"]["PostToolUse"]
    env = {"CHORUS_HOOK_DIR": str(tmp_path / "s1"), "PATH": "/usr/bin:/bin"}
    subprocess.run(
        ["sh", "-c", entry["hooks"][0]["command"]], input=json.dumps(POST_WRITE), text=True, env=env, check=True
    )
    assert claude.read_file_writes(tmp_path / "s1") == [FileWrite("/work/project/src/app.py", "/work/project")]


@pytest.mark.integration
def test_hooks_without_their_directory_exit_quietly(tmp_path):
    command = json.loads(claude.hook_settings())["hooks"]["Stop"][0]["hooks"][0]["command"]
    result = subprocess.run(["sh", "-c", command], input="{}", capture_output=True, text=True, env={})
    assert result.returncode == 0 and result.stderr == ""


# What Claude Code sends its PreToolUse hooks (code.claude.com/docs/en/hooks): file paths are absolute.
PRE_TOOL_USE = {
    "session_id": "abc123",
    "transcript_path": "/home/me/.claude/projects/p/abc123.jsonl",
    "cwd": "/work/project",
    "permission_mode": "default",
    "hook_event_name": "PreToolUse",
    "tool_name": "Edit",
    "tool_input": {"file_path": "/work/project/src/a.py", "old_string": "x", "new_string": "y"},
    "tool_use_id": "toolu_01",
}


def test_the_pre_edit_hook_runs_synchronously_before_the_file_tools_only():
    entry = json.loads(claude.hook_settings())["hooks"]["PreToolUse"]
    assert entry[0]["matcher"] == "Edit|Write|MultiEdit|NotebookEdit"
    hook = entry[0]["hooks"][0]
    assert "async" not in hook and hook["timeout"] == claude.PRE_EDIT_TIMEOUT
    assert hook["command"].endswith('exec "$t" agent pre-edit')  # the twin beside the pane's credential


@pytest.mark.parametrize(
    ("changes", "asked"),
    [
        ({}, EditRequest("Edit", "/work/project/src/a.py", "/work/project")),
        (
            {"tool_name": "Write", "tool_input": {"file_path": "b.py", "content": ""}},
            EditRequest("Write", "b.py", "/work/project"),
        ),
        (
            {"tool_name": "NotebookEdit", "tool_input": {"notebook_path": "/n.ipynb", "new_source": ""}},
            EditRequest("NotebookEdit", "/n.ipynb", "/work/project"),
        ),
        ({"tool_name": "MultiEdit", "cwd": 3}, EditRequest("MultiEdit", "/work/project/src/a.py", "")),
        ({"tool_name": "Bash", "tool_input": {"command": "rm a.py"}}, None),
        ({"hook_event_name": "PostToolUse"}, None),
        ({"tool_input": {"file_path": ""}}, None),
        ({"tool_input": "a.py"}, None),
    ],
)
def test_an_edit_request_is_read_from_the_exact_pre_tool_use_payload(changes, asked):
    assert claude.SESSION_FILE.edit_request({**PRE_TOOL_USE, **changes}) == asked
    assert claude.SESSION_FILE.edit_request(["not", "a", "payload"]) is None


def test_an_edit_is_refused_with_the_reason_the_agent_reads():
    assert json.loads(claude.SESSION_FILE.edit_refusal("src/a.py is claimed by task 1")) == {
        "hookSpecificOutput": {
            "hookEventName": "PreToolUse",
            "permissionDecision": "deny",
            "permissionDecisionReason": "src/a.py is claimed by task 1",
        }
    }


def test_disabled_hooks_are_found_in_the_agents_claude_directory(tmp_path):
    (tmp_path / ".claude").mkdir()
    assert claude.hooks_disabled_by({"HOME": str(tmp_path)}) is None
    settings = tmp_path / ".claude" / "settings.json"
    settings.write_text('{"disableAllHooks": true}')
    assert claude.hooks_disabled_by({"HOME": str(tmp_path)}) == settings
    assert claude.hooks_disabled_by({"HOME": "/nowhere", "CLAUDE_CONFIG_DIR": str(tmp_path / ".claude")}) == settings


def test_launch_warns_when_the_user_turned_every_hook_off(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert claude.SESSION_FILE.launch(tmp_path / "a").warnings == ()
    (tmp_path / "home" / ".claude").mkdir(parents=True)
    (tmp_path / "home" / ".claude" / "settings.json").write_text('{"disableAllHooks": true}')
    [warning] = claude.SESSION_FILE.launch(tmp_path / "b").warnings
    assert "disableAllHooks" in warning


def test_launch_reads_the_settings_of_the_home_the_agent_runs_with(tmp_path, monkeypatch):
    """A profile's env may give the agent a HOME of its own: its settings, not Chorus's, turn the hooks off."""
    monkeypatch.setenv("HOME", str(tmp_path / "chorus-home"))
    agent_home = tmp_path / "agent-home"
    (agent_home / ".claude").mkdir(parents=True)
    (agent_home / ".claude" / "settings.json").write_text('{"disableAllHooks": true}')
    [warning] = claude.SESSION_FILE.launch(tmp_path / "a", {"HOME": str(agent_home)}).warnings
    assert warning.startswith(f"{agent_home}/.claude/settings.json sets disableAllHooks")
    assert claude.SESSION_FILE.launch(tmp_path / "b", {"HOME": str(tmp_path / "chorus-home")}).warnings == ()


@pytest.mark.parametrize(
    ("environment", "directory"),
    [
        ({"HOME": "/home/agent"}, "/home/agent/.claude/sessions"),
        ({"HOME": "/home/agent", "CLAUDE_CONFIG_DIR": "/etc/claude-a"}, "/etc/claude-a/sessions"),
        ({"HOME": "/home/agent", "CHORUS_CLAUDE_SESSIONS_DIR": "/var/sessions"}, "/var/sessions"),
    ],
)
def test_the_reader_looks_where_the_agent_keeps_its_session_files(environment, directory):
    assert claude.sessions_dir(environment) == Path(directory)
    assert claude.SESSION_FILE.reader(environment).directory == Path(directory)
