"""Signed anchors of the event log, outside the database (issue 15, item 7): someone who can write the database
but not read the data directory's key can no longer re-hash the rows after an edit, or cut the tail and lower the
checkpoints, without verify_events saying so."""

import json
import logging
import subprocess
import sys

import pytest
from django.db import transaction

from events_app import anchors
from events_app.anchors import Anchor
from events_app.audit import AuditResult, verify_events
from events_app.recorders.base import hash_text
from events_app.store import GENESIS_HASH, chain_hash
from tests.demo import services
from tests.events_app.helpers import history, sql
from tests.support import ROOT

pytestmark = pytest.mark.django_db

ROWS = (
    "SELECT position, stream_type, stream_id, version, event_type, schema_version, data, metadata, "
    "CAST(recorded_at AS TEXT), hash FROM chorus_event ORDER BY position"
)


@pytest.fixture
def anchor(tmp_path, settings):
    """An anchor file of the test's own."""
    path = tmp_path / "data" / "anchor"
    path.parent.mkdir(mode=0o700)
    settings.CHORUS_ANCHOR_FILE = path
    return path


@pytest.fixture
def commit(django_capture_on_commit_callbacks, monkeypatch):
    """commit(work): run `work`, then what runs once its transactions commit (the test's own never does), then
    write the anchor now rather than after the process's delay (a timer thread would not see the test's rows)."""
    monkeypatch.setattr(anchors, "anchorer", anchors.Anchorer(delay=3600))

    def run(work):
        with django_capture_on_commit_callbacks(execute=True):
            work()
        anchors.anchorer.flush()

    return run


def head() -> Anchor:
    position, stored = sql("SELECT position, hash FROM chorus_event ORDER BY position DESC LIMIT 1")[0]
    return Anchor(position, hash_text(stored))


def rehash_from(position: int) -> None:
    """What anyone who can write the database can do: recompute the chain from `position` to the end."""
    previous = GENESIS_HASH
    for row in sql(ROWS):
        if row[0] >= position:
            forged = chain_hash(previous, list(row[:9]))
            sql("UPDATE chorus_event SET hash = %s WHERE position = %s", [bytes.fromhex(forged), row[0]])
            previous = forged
        else:
            previous = hash_text(row[9])


def test_each_commit_that_appends_anchors_the_head_signed_in_private_files(anchor, commit):
    commit(history)
    assert anchors.read_anchor(anchor) == head() == Anchor(8, head().hash)
    assert [oct(path.stat().st_mode & 0o777) for path in (anchor, anchors.key_file(anchor))] == ["0o600"] * 2
    assert sorted(path.name for path in anchor.parent.iterdir()) == ["anchor", "anchor_key"]
    assert verify_events() == AuditResult(8, anchored=8)


def test_an_edit_with_every_later_row_rehashed_fails_against_the_anchor(anchor, commit):
    commit(history)
    sql('UPDATE chorus_event SET data = \'{"by":500,"note":""}\' WHERE position = 4')
    rehash_from(4)
    result = verify_events()
    assert result.position == 8 and result.problem.startswith(
        f"event #8: not the event its signed anchor ({anchor}) holds: its hash is "
    )
    assert result.problem.endswith("so the log was rewritten up to here, hashes included")


def test_a_tail_cut_with_the_checkpoints_lowered_fails_against_the_anchor(anchor, commit):
    commit(history)
    sql("DELETE FROM chorus_event WHERE position >= 7")
    for table in ("chorus_projector_checkpoint", "chorus_policy_checkpoint"):
        sql(f"UPDATE {table} SET position = 6 WHERE position > 6")
    assert verify_events() == AuditResult(
        6,
        f"event #7: missing; the log ends at #6 but its signed anchor ({anchor}) holds event #8, so the last events "
        "were cut",
        7,
    )


def test_appends_after_tampering_keep_the_anchor_as_evidence_and_say_so_once(anchor, commit, caplog):
    commit(history)
    anchored = anchors.read_anchor(anchor)
    sql('UPDATE chorus_event SET data = \'{"by":500,"note":""}\' WHERE position = 8')
    rehash_from(8)
    with caplog.at_level(logging.ERROR, logger="events_app.anchors"):
        commit(lambda: [services.counter_increment("a", 1) for _ in range(3)])
    assert anchors.read_anchor(anchor) == anchored
    assert [record.getMessage() for record in caplog.records] == [
        f"the event log's anchor {anchor} is kept as it is: the log no longer holds event #8 as it was anchored "
        "(run verify_events)"
    ]
    assert verify_events().problem.startswith("event #8: not the event its signed anchor")


def test_an_anchor_moved_without_the_key_is_refused(anchor, commit):
    commit(history)
    fields = json.loads(anchor.read_text())
    anchor.write_text(json.dumps({**fields, "position": 3}))
    assert verify_events().problem == (
        f"the anchor file {anchor} is not signed by its key: it was forged, or the key replaced"
    )


def test_a_deleted_anchor_is_noticed_while_its_key_is_there(anchor, commit):
    commit(history)
    anchor.unlink()
    assert verify_events().problem == f"the anchor file {anchor} is missing but its key is there: it was deleted"
    anchors.key_file(anchor).unlink()
    assert verify_events() == AuditResult(8)


def test_a_log_from_before_anchors_stays_valid_and_is_anchored_at_its_next_append(anchor, commit, settings):
    history()
    assert verify_events() == AuditResult(8)
    commit(lambda: services.counter_increment("a", 1))
    assert verify_events() == AuditResult(9, anchored=9)
    settings.CHORUS_ANCHOR_FILE = None
    assert verify_events() == AuditResult(9)


def test_an_append_rolled_back_anchors_nothing(anchor, commit, django_capture_on_commit_callbacks):
    commit(history)
    with (
        django_capture_on_commit_callbacks(execute=True) as callbacks,
        pytest.raises(RuntimeError),
        transaction.atomic(),
    ):
        services.counter_increment("a", 1)
        raise RuntimeError("rolled back")
    assert callbacks == []
    assert anchors.read_anchor(anchor) == head() == Anchor(8, head().hash)


@pytest.mark.integration
def test_real_processes_anchor_their_appends_and_verify_events_refuses_a_rehashed_log(tmp_path, subprocess_env):
    """Chorus's own settings in a data directory of its own: commands that append leave a signed anchor; the
    database re-hashed behind their back (sqlite3, as anyone who can write the file could) fails verify_events."""
    import sqlite3

    data = tmp_path / "data"
    env = {**subprocess_env, "DJANGO_SETTINGS_MODULE": "chorus_site.settings", "CHORUS_DATA_DIR": str(data)}
    env.update(PROJECT_ROOT=str(tmp_path))
    env.pop("CHORUS_DATABASE")

    def manage(*args):
        return subprocess.run(
            [sys.executable, str(ROOT / "manage.py"), *args], env=env, capture_output=True, text=True, timeout=120
        )

    assert manage("migrate").returncode == 0
    for title in ("first", "second"):
        assert manage("tasks", "add", title).returncode == 0, title
    intact = manage("verify_events")
    assert intact.returncode == 0 and intact.stdout.strip().endswith("the signed anchor at #2 holds"), intact
    assert {path.name: path.stat().st_mode & 0o777 for path in data.glob("anchor*")} == {
        "anchor": 0o600,
        "anchor_key": 0o600,
    }
    with sqlite3.connect(data / "chorus.sqlite3") as database:
        database.execute("UPDATE chorus_event SET data = replace(data, 'first', 'forged') WHERE position = 1")
        previous = GENESIS_HASH
        for row in database.execute(ROWS).fetchall():
            previous = chain_hash(previous, list(row[:9]))
            database.execute("UPDATE chorus_event SET hash = ? WHERE position = ?", [bytes.fromhex(previous), row[0]])
    tampered = manage("verify_events")
    assert tampered.returncode == 1 and "Traceback" not in tampered.stderr
    assert tampered.stderr.startswith(f"CommandError: event #2: not the event its signed anchor ({data / 'anchor'})")
