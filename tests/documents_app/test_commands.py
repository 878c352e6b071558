import io
import json
import re
import subprocess

import pytest
from django.core.management import CommandError, call_command

from documents_app.management.commands.documents import parse_range
from sessions_app import services as sessions_services
from sessions_app.tmux import Tmux

pytestmark = pytest.mark.django_db


def run(*args) -> str:
    out = io.StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


@pytest.fixture
def tree(project):
    project.write("guide.md", "# Guide\nsecond\nthird\n")
    project.write("notes.txt", "notes\n")
    project.write("blob.md", b"\0")
    return project


def test_scan_prints_the_counts_and_the_skipped_files(tree):
    output = run("scan_documents")
    assert output.startswith("added 2, changed 0, removed 0, unchanged 0, skipped 1 (")
    assert "skipped blob.md: binary (it contains a NUL byte)" in output
    data = json.loads(run("scan_documents", "--json"))
    assert {k: data[k] for k in ("added", "unchanged", "skipped")} == {"added": 0, "unchanged": 2, "skipped": 1}
    assert data["skipped_files"] == [{"path": "blob.md", "reason": "binary (it contains a NUL byte)"}]


def test_list_and_show(tree):
    assert "no documents" in run("documents", "list")
    run("scan_documents")
    assert run("documents", "list").splitlines() == ["guide.md        3  Guide", "notes.txt       1  notes"]
    assert [d["path"] for d in json.loads(run("documents", "--json", "list"))] == ["guide.md", "notes.txt"]
    assert run("documents", "show", "guide.md") == "1  # Guide\n2  second\n3  third\n"
    assert run("documents", "show", "guide.md", "--lines", "2-3") == "2  second\n3  third\n"
    shown = json.loads(run("documents", "--json", "show", "guide.md", "--lines", "2"))
    assert (shown["title"], shown["lines"]) == ("Guide", [{"number": 2, "text": "second"}])


@pytest.mark.parametrize(
    ("text", "expected"), [("2-3", (2, 3)), ("2-", (2, None)), ("-3", (None, 3)), ("4", (4, 4)), (" 1-1 ", (1, 1))]
)
def test_line_ranges(text, expected):
    assert parse_range(text) == expected


@pytest.mark.parametrize("text", ["", "-", "a-b", "3-2-1", "1:2"])
def test_bad_line_ranges(text):
    with pytest.raises(CommandError, match="--lines takes"):
        parse_range(text)


def test_errors_are_command_errors(tree):
    run("scan_documents")
    with pytest.raises(CommandError, match=re.escape("no document '../../etc/passwd'")):
        run("documents", "show", "../../etc/passwd")
    with pytest.raises(CommandError, match=re.escape("lines 3-9 are outside guide.md, which has 3 lines")):
        run("documents", "show", "guide.md", "--lines", "3-9")
    with pytest.raises(CommandError, match=re.escape("line 7 is outside guide.md")):
        run("documents", "open", "guide.md", "--line", "7")


def test_open_without_tmux_prints_the_command_to_run(tree, settings, monkeypatch):
    run("scan_documents")
    settings.EDITOR = "true --wait"
    monkeypatch.setattr(sessions_services, "tmux", lambda: Tmux(binary="chorus-no-such-tmux"))
    output = run("documents", "open", "guide.md", "--line", "2")
    assert output.startswith("tmux is not available: tmux is not installed")
    assert output.strip().endswith(f"run it yourself: true --wait +2 {tree.root / 'guide.md'}")
    data = json.loads(run("documents", "--json", "open", "guide.md"))
    assert (data["opened"], data["command"]) == (False, f"true --wait +1 {tree.root / 'guide.md'}")


def test_a_missing_editor_is_an_error(tree, settings):
    run("scan_documents")
    settings.EDITOR = "chorus-no-such-editor"
    with pytest.raises(CommandError, match="the editor 'chorus-no-such-editor' is not installed"):
        run("documents", "open", "guide.md")


@pytest.mark.integration
def test_a_failing_command_exits_non_zero_with_one_line(tree, manage, subprocess_env):
    env = {**subprocess_env, "PROJECT_ROOT": str(tree.root)}
    result = subprocess.run(
        [*manage, "documents", "show", "../../etc/passwd"], env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 1
    assert result.stderr == "CommandError: no document '../../etc/passwd' under PROJECT_ROOT\n"
