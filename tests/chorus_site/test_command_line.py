"""The command line as a person types it: --json in any position, a database not made yet, `python3 chorus.py`
dispatching every command."""

from __future__ import annotations

import io
import json
import sqlite3
import subprocess
import sys

import pytest
from django.core.management import call_command
from django.db.utils import OperationalError

from tests.conftest import require_binary
from tests.sessions_app.factories import SessionFactory
from tests.support import ROOT


def _json_of(*argv: str):
    out = io.StringIO()
    call_command(*argv, stdout=out)
    return [json.loads(line) for line in out.getvalue().splitlines() if line.strip()]


@pytest.mark.django_db
@pytest.mark.parametrize(
    "argv",
    [
        ("sessions", "list", "--json"),
        ("sessions", "--json", "list"),
        ("sessions", "history", "w1", "--json"),
        ("documents", "list", "--json"),
        ("documents", "--json", "list"),
        ("tasks", "list", "--json"),
        ("tasks", "--json", "list"),
        ("token", "--json", "show"),
        ("token", "show", "--json"),
    ],
)
def test_json_is_accepted_before_and_after_the_action(argv, settings):
    settings.CHORUS_TMUX_SOCKET = "chorus-test"
    SessionFactory(name="w1")
    assert _json_of(*argv)


def _no_such_table() -> OperationalError:
    try:
        sqlite3.connect(":memory:").execute("SELECT * FROM chorus_session")
    except sqlite3.OperationalError as cause:
        error = OperationalError(str(cause))
        error.__cause__ = cause
        return error
    raise AssertionError("sqlite found a table in an empty database")


def test_a_database_without_tables_is_one_sentence_naming_the_command_that_makes_them():
    from events_app.database import unmigrated

    problem = unmigrated(_no_such_table())
    assert problem is not None
    assert "python3 chorus.py migrate" in problem
    assert unmigrated(OperationalError("database is locked")) is None


@pytest.mark.integration
def test_the_quick_start_commands_work_as_written_before_and_after_the_first_start(tmp_path, subprocess_env):
    """`python3 chorus.py sessions list` in a new project: one line naming the command that makes the database
    (no traceback), then, once migrated, the list (the README's and the empty Sessions page's commands)."""
    require_binary("uv", "pip install uv")
    env = {k: v for k, v in subprocess_env.items() if k not in ("CHORUS_DATABASE", "DJANGO_SETTINGS_MODULE")}
    env.update(CHORUS_DATA_DIR=str(tmp_path / "data"), PROJECT_ROOT=str(tmp_path))
    chorus = [sys.executable, str(ROOT / "chorus.py")]

    def run(*argv: str) -> subprocess.CompletedProcess:
        return subprocess.run([*chorus, *argv], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)

    before = run("sessions", "list")
    assert before.returncode == 1
    assert "Traceback" not in before.stderr
    [line] = before.stderr.strip().splitlines()
    assert "is not set up" in line and "`python3 chorus.py migrate`" in line
    assert run("migrate", "-v0").returncode == 0
    after = run("sessions", "list", "--json")
    assert (after.returncode, after.stdout.strip()) == (0, "[]"), after.stderr


@pytest.mark.integration
def test_the_runtime_environment_leaves_out_the_test_and_lint_tools():
    uv = require_binary("uv", "pip install uv")
    listed = subprocess.run(
        [uv, "export", "--frozen", "--no-dev", "--no-hashes", "--project", str(ROOT)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    names = {line.split("==")[0].strip() for line in listed.splitlines() if "==" in line}
    assert {"django", "daphne", "django-ninja"} <= names
    assert not names & {"playwright", "ruff", "schemathesis", "hypothesis", "pytest"}
