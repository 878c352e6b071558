"""The command line as a person types it: --json in any position, a database not made yet, `python3 chorus.py`
dispatching every command."""

from __future__ import annotations

import io
import json
import re
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


def test_every_command_the_readme_and_the_pages_mention_is_one_chorus_runs():
    """`python3 chorus.py WORD` for each WORD a page or the README names; no bare `chorus ...` (not on PATH) but
    the agent's twins (`chorus agent ...`, a command in the agent's pane)."""
    from django.core.management import get_commands

    from chorus_site.cli import ALIASES

    known = {*get_commands(), *(words[0] for words in ALIASES), "verify", "help", "start", "test", "lint", "manage"}
    texts = {path: path.read_text() for path in [ROOT / "README.md", *sorted((ROOT / "templates").glob("*.html"))]}
    named = {
        (path.name, match.group(1))
        for path, text in texts.items()
        for match in re.finditer(r"python3 (?:\S*/)?chorus\.py (\w[\w-]*)", text)
    }
    assert {word for _, word in named} >= {"start", "test", "sessions", "doctor", "token"}
    assert {(name, word) for name, word in named if word not in known} == set()
    for path, text in texts.items():
        assert not re.search(
            r"uv run chorus|(?<![\w/.-])chorus (?!agent\b)(start|sessions|tasks|token|events|verify|doctor)\b", text
        ), path
        assert not re.search(r"`chorus (?!agent\b)\w", text), path  # any command quoted as code


@pytest.mark.django_db
def test_the_empty_sessions_page_names_a_command_that_works_from_anywhere(client, settings):
    client.get("/login/", {"token": settings.CHORUS_TOKEN})
    page = client.get("/").content.decode()
    chorus_py = ROOT / "chorus.py"
    assert f"cd {settings.PROJECT_ROOT} &amp;&amp; CHORUS_DATA_DIR={settings.DATA_DIR}" in page
    assert f"python3 {chorus_py} sessions new NAME" in page


def _readme_section(title: str) -> str:
    text = (ROOT / "README.md").read_text()
    return text.split(f"\n## {title}\n", 1)[1].split("\n## ", 1)[0]


def test_the_operators_commands_are_rows_of_the_commands_table():
    commands = _readme_section("Commands")
    for row in ("| `events [", "| `rebuild_projections", "| `verify_projections", "| `verify_events", "| `doctor"):
        assert row in commands
    assert "rebuild_projections" not in _readme_section("API")


def test_the_readme_profile_example_loads_and_its_prompt_rule_matches_a_prompt(tmp_path):
    from sessions_app.catalog import load_profiles
    from sessions_app.detection import Observation, Status, detect

    example = _readme_section("Agent profiles").split("```toml\n", 1)[1].split("```", 1)[0]
    (tmp_path / "chorus.toml").write_text(example)
    profile = load_profiles(tmp_path, {"XDG_CONFIG_HOME": str(tmp_path / "none")})["my-tool"]
    assert profile.environment["MY_TOOL_THEME"] == "plain"
    for screen in ("done.\n>   \n", "done.\n> half a sentence"):
        verdict = detect(profile, Observation(screen=screen, pane_current_command="my-tool"))
        assert (verdict.status, verdict.rule) == (Status.IDLE, "my.prompt"), verdict.reason
    verdict = detect(profile, Observation(screen="what now?\n", pane_current_command="my-tool"))
    assert verdict.status is Status.UNKNOWN
    assert "matched (last line: 'what now?')" in verdict.reason


# What `sessions list` must not import (issue 17 item 16): the web server (daphne and Twisted, about 1 s), the
# API's schemas (ninja and pydantic, about 0.6 s), which only the web server needs, and the policies with the tasks'
# services they call (about 0.1 s; loaded at the first append: events_app.policies.discover).
HEAVY = ("daphne", "twisted", "ninja", "pydantic", "tasks_app.policies", "tasks_app.services", "sessions_app.policies")
IMPORTS_OF = """
import atexit, sys
atexit.register(lambda: print(" ".join(sorted(sys.modules)), file=sys.stderr))
sys.argv = ["manage.py", *sys.argv[1:]]
import manage
manage.main()
"""


@pytest.mark.integration
def test_sessions_list_imports_neither_the_web_server_nor_the_api_schemas(tmp_path, subprocess_env):
    shipped = ("CHORUS_DATABASE", "CHORUS_DATABASE_URL", "DJANGO_SETTINGS_MODULE")  # Chorus's own settings
    env = {k: v for k, v in subprocess_env.items() if k not in shipped}
    env.update(CHORUS_DATA_DIR=str(tmp_path / "data"), PROJECT_ROOT=str(tmp_path))

    def modules(*argv: str) -> set[str]:
        done = subprocess.run(
            [sys.executable, "-c", IMPORTS_OF, *argv], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
        )
        assert done.returncode == 0, done.stderr
        return set(done.stderr.strip().splitlines()[-1].split())

    modules("migrate", "-v0")
    loaded = modules("sessions", "list")
    assert {"django", "sessions_app.selectors", "events_app.store"} <= loaded  # the probe sees what it loaded
    assert {name for name in loaded if any(name == h or name.startswith(f"{h}.") for h in HEAVY)} == set()
