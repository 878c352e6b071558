"""The backend suites on PostgreSQL: the recorder contract, the projection tests, the live == rebuilt property
test, the four-process concurrency test, live fan-out and the hosts' notifications, run by a child pytest whose
Django database is a throw-away cluster's (tests/pg.py). One child run: pytest-django makes its test database once
per process, from the settings."""

import os
import subprocess
import sys

import pytest

from tests.pg import postgres  # noqa: F401  (the fixture)
from tests.support import ROOT

SUITES = [
    "tests/events_app/test_recorder_postgres.py",
    "tests/events_app/test_projection.py",
    "tests/events_app/test_property.py",
    "tests/events_app/test_concurrency.py",
    "tests/events_app/test_live_postgres.py",
    "tests/sessions_app/test_hosts_postgres.py",
]

TIERS = "not browser and not agents"


@pytest.mark.integration
def test_the_backend_suites_pass_on_postgresql(postgres):  # noqa: F811
    url = postgres.create_database("chorus_suites")
    env = {**os.environ, "CHORUS_DATABASE_URL": url, "DJANGO_SETTINGS_MODULE": "tests.settings"}
    env.pop("CHORUS_DATABASE", None)
    env.pop("CHORUS_DATA_DIR", None)
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--create-db", "-m", TIERS, *SUITES],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    summary = run.stdout.strip().splitlines()[-1] if run.stdout.strip() else ""
    assert run.returncode == 0, run.stdout[-20000:] + run.stderr[-5000:]
    assert " passed" in summary and "skipped" not in summary, summary
