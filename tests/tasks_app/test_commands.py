"""`manage.py tasks ...`: the same services from the command line; one-line errors and a non-zero exit."""

import io
import json
import subprocess

import pytest
from django.core.management import CommandError, call_command

from tasks_app.models import Task
from tests.tasks_app.helpers import delivery_starts, numbered, session_appears, session_status

pytestmark = pytest.mark.django_db


def run(*args, stdin: str | None = None, monkeypatch=None):
    out = io.StringIO()
    if stdin is not None:
        monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
    call_command("tasks", *args, stdout=out)
    return out.getvalue()


def test_add_list_show(docs, monkeypatch):
    docs.write("docs/spec.md", numbered(9))
    assert "no tasks" in run("list")
    added = run(
        "add",
        "Write the parser",
        "--description",
        "-",
        "--priority",
        "3",
        "--label",
        "parser",
        "--label",
        "core",
        "--ref",
        "docs/spec.md:2-3",
        stdin="Use *recursion*.\n",
        monkeypatch=monkeypatch,
    )
    assert added.strip() == "added task 1 (ready): Write the parser"
    second = json.loads(run("add", "Test it", "--after", "1", "--backlog", "--json"))
    assert (second["id"], second["status"], second["blocked_by"]) == (2, "backlog", [1])
    table = run("list").splitlines()
    assert table[0].split() == ["ID", "STATUS", "PRI", "SESSION", "TITLE"]
    assert table[1].split() == ["1", "ready", "3", "-", "Write", "the", "parser"]
    assert table[2].split()[:3] == ["2", "backlog", "(blocked)"]
    assert [t["id"] for t in json.loads(run("list", "--status", "backlog", "--json"))] == [2]
    shown = run("show", "1")
    assert "  labels: ['core', 'parser']" in shown
    assert "  reference 1.1 docs/spec.md:2-3 (current)" in shown
    assert shown.endswith(
        "prompt:\nTask 1: Write the parser\n\nUse *recursion*.\n\ndocs/spec.md:2-3\n```\nline 2\nline 3\n```\n"
    )
    data = json.loads(run("show", "1", "--json"))
    assert data["prompt"].startswith("Task 1: Write the parser") and data["references"][0]["state"] == "current"


def test_a_stale_reference_shows_its_diff(docs):
    docs.write("spec.md", numbered(5))
    run("add", "T", "--ref", "spec.md:2-2")
    docs.write("spec.md", numbered(5).replace("line 2", "line two"))
    shown = run("show", "1")
    assert "reference 1.1 spec.md:2-2 (stale)\n    --- spec.md (snapshot)" in shown
    assert "    -line 2\n    +line two" in shown


def test_assign_follow_done_fail_reopen_dispatch(docs):
    session_appears("s1")
    session_appears("s2", auto_dispatch=True)
    run("add", "first")
    run("add", "second")
    assert run("assign", "1", "s1").strip() == "task 1 assigned to s1: its prompt is queued"
    assert run("dispatch").strip() == "task 2 -> s2"
    assert run("dispatch").strip() == "nothing dispatched"
    delivery_starts(Task.objects.get(pk=1).message_id)
    session_status("s1", "busy")
    assert json.loads(run("done", "1", "--note", "merged", "--json"))["result_note"] == "merged"
    assert run("fail", "2", "--note", "wrong").strip() == "task 2 failed"
    assert run("reopen", "2").strip() == "task 2 is ready again"
    assert Task.objects.get(pk=2).status == "ready"


def test_claims_are_declared_edited_and_listed(docs):
    session_appears("s1")
    assert json.loads(run("add", "API", "--claim", "src/api/", "--claim", "docs/*.md", "--json"))["claims"] == [
        "docs/*.md",
        "src/api/**",
    ]
    assert run("edit", "1", "--unclaim", "docs/*.md", "--claim", "README.md").strip() == (
        "task 1 claims: README.md, src/api/**"
    )
    assert "  claims: ['README.md', 'src/api/**']" in run("show", "1")
    assert run("claims").strip() == "no live claims"
    run("assign", "1", "s1")
    assert run("claims").splitlines() == ["README.md\ttask 1\ts1\tdeclared", "src/api/**\ttask 1\ts1\tdeclared"]
    assert [c["glob"] for c in json.loads(run("claims", "--json"))] == ["README.md", "src/api/**"]


@pytest.mark.parametrize(
    ("args", "error"),
    [
        (["add", "T", "--claim", "/etc/**"], "is absolute"),
        (["edit", "1", "--claim", "a/../../b"], "'..'"),
        (["show", "7"], "no task 7"),
        (["show", "x"], "no task 'x'"),
        (["add", "T", "--ref", "spec.md"], "is not PATH:START-END"),
        (["add", "T", "--ref", "spec.md:4-2"], "reversed"),
        (["add", "T", "--after", "5"], "no task 5"),
        (["done", "1"], "task 1 is ready, so it cannot be marked done"),
        (["assign", "1", "ghost"], "no session named 'ghost'"),
    ],
)
def test_errors_are_one_line(docs, args, error):
    docs.write("spec.md", numbered(5))
    run("add", "T")
    with pytest.raises(CommandError, match=error) as raised:
        run(*args)
    assert "\n" not in str(raised.value)


@pytest.mark.integration
def test_a_failing_command_exits_non_zero_with_one_line(docs, manage, subprocess_env):
    env = {**subprocess_env, "PROJECT_ROOT": str(docs.root)}
    done = subprocess.run([*manage, "tasks", "show", "42"], env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode != 0
    assert done.stderr.strip() == "CommandError: no task 42"
