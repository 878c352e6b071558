"""The agent's claim tools through their twins (`chorus agent claim-paths|release-paths|list-claims`) and the file
tools' hook (`chorus agent pre-edit`) fed the exact JSON Claude Code sends; a real hook process in the integration
tier."""

import io
import json
import subprocess
import sys
import time

import pytest
from django.core.management import CommandError, call_command

from sessions_app.agents import claude
from tasks_app import selectors
from tests.tasks_app.factories import assigned_task
from tests.tasks_app.helpers import agent, event_types, pane_environment

pytestmark = pytest.mark.django_db


def pre_edit(monkeypatch, payload: object) -> tuple[str, str]:
    monkeypatch.setattr(sys, "stdin", io.StringIO(payload if isinstance(payload, str) else json.dumps(payload)))
    out, err = io.StringIO(), io.StringIO()
    call_command("agent", "pre-edit", stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def hook_input(root, tool="Edit", **tool_input) -> dict:
    """A PreToolUse payload as Claude Code sends it (code.claude.com/docs/en/hooks)."""
    return {
        "session_id": "5f1c-4e",
        "transcript_path": "/home/me/.claude/projects/x/5f1c-4e.jsonl",
        "cwd": str(root),
        "permission_mode": "default",
        "hook_event_name": "PreToolUse",
        "tool_name": tool,
        "tool_input": tool_input or {"file_path": str(root / "src" / "a.py"), "old_string": "a", "new_string": "b"},
        "tool_use_id": "toolu_01ABC",
    }


def test_claim_list_and_release_from_the_pane(pane):
    task = assigned_task("bob")
    assigned_task("alice", claims=["docs/**"])
    claimed = agent("claim-paths", "src/api/", "tests/*.py", "--reason", "the API")
    assert claimed.splitlines()[0] == f"claimed for task {task.id}: src/api/**, tests/*.py"
    listed = json.loads(agent("--json", "list-claims"))["claims"]
    assert [(c["glob"], c["yours"]) for c in listed] == [("docs/**", False), ("src/api/**", True), ("tests/*.py", True)]
    with pytest.raises(CommandError, match=r"^docs/x is claimed by task 2 \(session alice\) as docs/\*\*$"):
        agent("claim-paths", "docs/x", "--reason", "r")
    agent("release-paths", "tests/*.py")
    assert [c.glob for c in selectors.live_claims(task_id=task.id)] == ["src/api/**"]


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (("claim-paths", "/etc/**", "--reason", "r"), "absolute"),
        (("claim-paths", "../x", "--reason", "r"), "'..'"),
        (("claim-paths", "x", "--reason", " "), "the reason is empty"),
        (("claim-paths", "x", "--reason", "r"), "session bob has no task at work"),
    ],
)
def test_bad_claims_and_a_session_without_a_task_are_refused_in_one_line(pane, args, says):
    with pytest.raises(CommandError, match=says):
        agent(*args)
    assert event_types("claim") == []


def test_the_hook_refuses_an_edit_under_another_tasks_claim(pane, docs, monkeypatch):
    assigned_task("alice", claims=["src/**"])
    mine = assigned_task("bob")
    out, err = pre_edit(monkeypatch, hook_input(docs.root))
    decision = json.loads(out)["hookSpecificOutput"]
    assert (decision["hookEventName"], decision["permissionDecision"]) == ("PreToolUse", "deny")
    assert "src/a.py is claimed by task 1 (session alice)" in decision["permissionDecisionReason"]
    assert "claim_paths" in decision["permissionDecisionReason"]
    assert err == ""
    denial = selectors.edit_denials("bob")[0]
    assert (denial.path, denial.task_id, denial.holder_session) == ("src/a.py", mine.id, "alice")


def test_the_hook_allows_and_auto_claims_a_free_path_silently(pane, docs, monkeypatch):
    task = assigned_task("bob")
    notebook = {"notebook_path": str(docs.root / "n.ipynb"), "new_source": "x"}
    assert pre_edit(monkeypatch, hook_input(docs.root, "NotebookEdit", **notebook)) == ("", "")
    assert [c.glob for c in selectors.live_claims(task_id=task.id)] == ["n.ipynb"]
    bash = {**hook_input(docs.root), "tool_name": "Bash", "tool_input": {"command": "rm -rf src"}}
    assert pre_edit(monkeypatch, bash) == ("", "")


@pytest.mark.parametrize("stdin", ["not json", ""])
def test_the_hook_allows_what_it_cannot_read_and_says_so(pane, monkeypatch, stdin):
    out, err = pre_edit(monkeypatch, stdin)
    assert out == ""
    assert err == "" if not stdin else err.startswith("chorus: path claims not checked")


def test_the_hook_allows_when_the_credential_is_gone_and_says_so(pane, docs, monkeypatch):
    monkeypatch.delenv("CHORUS_AGENT_CREDENTIAL")
    out, err = pre_edit(monkeypatch, hook_input(docs.root))
    assert out == ""
    assert "path claims not checked (no agent credential" in err and "the edit is allowed" in err


def pre_commit(monkeypatch, top, *names: str) -> tuple[int, str]:
    monkeypatch.setattr(sys, "stdin", io.StringIO("\0".join(names) + "\0"))
    err = io.StringIO()
    try:
        call_command("agent", "pre-commit", "--top", str(top), stderr=err)
    except SystemExit as exc:
        return exc.code, err.getvalue()
    return 0, err.getvalue()


def test_the_commit_guard_refuses_each_staged_file_another_task_claims(pane, docs, monkeypatch):
    assigned_task("alice", claims=["src/**"])
    assigned_task("bob", claims=["lib/**"])
    status, err = pre_commit(monkeypatch, docs.root, "src/a.py", "lib/b.py", "README.md", "src/c.py")
    assert status == 1
    assert err.splitlines()[0].startswith("Chorus refused this commit: src/a.py is claimed by task 1 (session alice)")
    assert "git restore --staged src/a.py" in err and "src/c.py" in err and "lib/b.py" not in err
    assert [d.tool for d in selectors.edit_denials("bob")] == ["git commit", "git commit"]
    assert pre_commit(monkeypatch, docs.root, "lib/b.py", "README.md") == (0, "")
    assert selectors.live_claims(session="bob")[0].glob == "lib/**"  # a commit claims nothing


def test_the_commit_guard_lets_the_commit_go_when_chorus_cannot_answer(pane, docs, monkeypatch):
    monkeypatch.delenv("CHORUS_AGENT_CREDENTIAL")
    status, err = pre_commit(monkeypatch, docs.root, "src/a.py")
    assert status == 0 and "path claims not checked" in err and "the commit goes ahead" in err


@pytest.mark.integration
@pytest.mark.django_db(transaction=True)
def test_the_installed_pre_commit_guard_refuses_an_agents_commit_of_a_claimed_file(pane, docs):
    git = ["git", "-C", str(docs.root)]
    with pytest.raises(CommandError, match="is not in a git repository: no pre-commit guard"):
        call_command("tasks", "install-pre-commit")
    subprocess.run([*git, "init", "-q"], check=True)
    assert "installed " in tasks_command("install-pre-commit")
    assert "installed " in tasks_command("install-pre-commit")  # again: its own hook is rewritten
    assigned_task("alice", claims=["src/**"])
    assigned_task("bob")
    (docs.root / "src").mkdir()
    (docs.root / "src" / "a.py").write_text("x\n")
    (docs.root / "b.py").write_text("y\n")
    env = {**pane_environment(docs, pane), "GIT_AUTHOR_NAME": "a", "GIT_AUTHOR_EMAIL": "a@x", "GIT_COMMITTER_NAME": "a"}
    env["GIT_COMMITTER_EMAIL"] = "a@x"
    subprocess.run([*git, "add", "src/a.py", "b.py"], check=True)
    refused = subprocess.run([*git, "commit", "-qm", "both"], env=env, capture_output=True, text=True)
    assert refused.returncode == 1 and "src/a.py is claimed by task 1 (session alice)" in refused.stderr
    subprocess.run([*git, "rm", "-q", "--cached", "src/a.py"], check=True)  # (no HEAD yet to restore from)
    done = subprocess.run([*git, "commit", "-qm", "mine"], env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    subprocess.run([*git, "add", "src/a.py"], check=True)
    person = {k: v for k, v in env.items() if k != "CHORUS_AGENT_CREDENTIAL"}
    assert subprocess.run([*git, "commit", "-qm", "a person's"], env=person).returncode == 0
    hook = docs.root / ".git" / "hooks" / "pre-commit"
    hook.write_text("#!/bin/sh\nexit 0\n")
    with pytest.raises(CommandError, match="is another pre-commit hook: Chorus leaves it alone"):
        call_command("tasks", "install-pre-commit")


def tasks_command(*args) -> str:
    out = io.StringIO()
    call_command("tasks", *args, stdout=out)
    return out.getvalue()


@pytest.mark.integration
@pytest.mark.django_db(transaction=True)
def test_the_hook_command_in_a_real_process_denies_a_claimed_edit_and_allows_a_free_one(pane, docs):
    assigned_task("alice", claims=["src/**"])
    assigned_task("bob")
    env = pane_environment(docs, pane)
    hook = ["sh", "-c", claude.PRE_EDIT_COMMAND]
    started = time.monotonic()
    denied = subprocess.run(hook, input=json.dumps(hook_input(docs.root)), env=env, capture_output=True, text=True)
    took = time.monotonic() - started
    assert denied.returncode == 0, denied.stderr
    assert json.loads(denied.stdout)["hookSpecificOutput"]["permissionDecision"] == "deny"
    free = hook_input(docs.root, "Write", file_path=str(docs.root / "b.py"), content="")
    allowed = subprocess.run(hook, input=json.dumps(free), env=env, capture_output=True, text=True)
    assert (allowed.returncode, allowed.stdout, allowed.stderr) == (0, "", "")
    assert took < claude.PRE_EDIT_TIMEOUT
    without = {k: v for k, v in env.items() if k != "CHORUS_AGENT_CREDENTIAL"}
    skipped = subprocess.run(hook, input=json.dumps(hook_input(docs.root)), env=without, capture_output=True, text=True)
    assert (skipped.returncode, skipped.stdout) == (0, "")
