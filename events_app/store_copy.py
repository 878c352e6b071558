"""Moving a log to PostgreSQL: `chorus store copy --to postgresql://...` copies the event table of this database
(positions, hashes and times as stored, so the chain verifies unchanged) and the worker policies' checkpoints (a
policy must not carry out again what it did before the move) into an empty PostgreSQL database, then the target
rebuilds its read models from the copied log and verifies both.

The target's migrate, rebuild and verification run as its own commands in child processes (CHORUS_DATABASE_URL
set): every read model is written through the default database, which in this process is the source.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
from pathlib import Path

from django.db import DEFAULT_DB_ALIAS, connections

from events_app.database import database_from_url
from events_app.errors import DomainError
from events_app.recorders import recorder_for
from events_app.recorders.base import TRACKING
from events_app.recorders.postgres import PostgresRecorder

ALIAS = "store_copy_target"
CHUNK = 5000
MANAGE = Path(__file__).resolve().parent.parent / "manage.py"


def store_copy(url: str, *, progress=lambda line: None) -> dict:
    """Copy this database's log into the empty PostgreSQL database at `url`; what was copied. Refused (a
    DomainError) when the target holds events already, or when a step on the target fails."""
    try:
        entry = database_from_url("--to", url)
    except SystemExit as exc:
        raise DomainError(str(exc).removeprefix("chorus: ")) from None
    target_env = {**os.environ, "CHORUS_DATABASE_URL": url}
    connections.settings[ALIAS] = connections.configure_settings(
        {DEFAULT_DB_ALIAS: connections.settings[DEFAULT_DB_ALIAS], ALIAS: entry}
    )[ALIAS]
    try:
        target = PostgresRecorder(ALIAS)
        held = _events_held(target)
        if held:
            raise DomainError(f"the target already holds {held} events: copy only into an empty database")
        progress("migrating the target")
        _run_on_target(["migrate", "--no-input"], target_env)
        source = recorder_for()
        copied = policies = 0
        with target.writing() as cursor:
            after = 0
            while rows := source.hashed_rows(after, CHUNK):
                target.insert(cursor, rows)
                copied += len(rows)
                after = rows[-1][0]
                progress(f"copied {copied} events")
            with contextlib.closing(source.cursor()) as reading:
                checkpoints = source.checkpoints(reading, "policy")
            cursor.executemany(
                f"INSERT INTO {TRACKING['policy']} (name, position) VALUES (%s, %s)",  # noqa: S608  (constant)
                list(checkpoints.items()),
            )
            policies = len(checkpoints)
        progress("rebuilding the read models on the target")
        _run_on_target(["rebuild_projections"], target_env)
        verified = _run_on_target(["verify_events"], target_env)
        _run_on_target(["verify_projections"], target_env)
    finally:
        connections[ALIAS].close()
        del connections[ALIAS]
        del connections.settings[ALIAS]
    return {"events": copied, "policy_checkpoints": policies, "verified": verified}


def _events_held(target: PostgresRecorder) -> int:
    """How many events the target holds (0 for a database without Chorus's tables)."""
    db = connections[ALIAS]
    try:
        tables = db.introspection.table_names()
    except Exception as exc:
        raise DomainError(f"cannot reach the target: {str(exc).strip().splitlines()[0]}") from None
    return target.last_position() if "chorus_event" in tables else 0


def _run_on_target(command: list[str], env: dict) -> str:
    """Run a manage.py command on the target; its last line of output, or a DomainError with its last line."""
    done = subprocess.run([sys.executable, str(MANAGE), *command], env=env, capture_output=True, text=True, check=False)
    lines = (done.stdout + done.stderr).strip().splitlines()
    if done.returncode != 0:
        raise DomainError(f"{command[0]} on the target failed: {lines[-1] if lines else 'no output'}")
    return lines[-1] if lines else ""
