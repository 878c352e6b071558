"""`chorus store copy --to postgresql://...`: an SQLite log moves with its positions, hashes, times and policy
checkpoints; the target's read models are rebuilt and both verify; a target holding events is refused."""

import subprocess

import psycopg
import pytest

from events_app.models import PolicyCheckpoint
from tests.demo import services
from tests.events_app.helpers import sql
from tests.pg import postgres  # noqa: F401  (the fixture)

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def _copy(manage, env, url):
    return subprocess.run([*manage, "copy_store", "--to", url], env=env, capture_output=True, text=True, check=False)


def test_the_log_moves_with_positions_hashes_and_checkpoints_and_verifies_there(
    postgres,  # noqa: F811
    manage,
    subprocess_env,
):
    services.counter_open("a", "first ä")
    services.counter_increment("a", 2)
    services.counter_open("b", "second")
    PolicyCheckpoint.objects.create(name="closed_counters_are_noted", position=2)
    source = sql(
        "SELECT position, stream_id, version, data, metadata, CAST(recorded_at AS TEXT), hash FROM chorus_event "
        "ORDER BY position"
    )
    url = postgres.create_database("copy_target")

    done = _copy(manage, subprocess_env, url)

    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("copied 3 events and 1 policy checkpoint(s); target: ok: 3 events"), done.stdout
    with psycopg.connect(url) as target:
        copied = target.execute(
            "SELECT position, stream_id, version, data::text, metadata::text, "
            "regexp_replace(to_char(recorded_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.US'), '\\.000000$', ''), "
            "hash FROM chorus_event ORDER BY position"
        ).fetchall()
        assert [(*row[:-1], bytes(row[-1])) for row in copied] == [(*row[:-1], bytes(row[-1])) for row in source]
        assert target.execute("SELECT name, position FROM chorus_policy_checkpoint").fetchall() == [
            ("closed_counters_are_noted", 2)
        ]
        assert target.execute("SELECT id, value FROM demo_counter ORDER BY id").fetchall() == [("a", 2), ("b", 0)]

    again = _copy(manage, subprocess_env, url)
    assert again.returncode == 1
    assert again.stderr.strip().splitlines() == [
        "CommandError: the target already holds 3 events: copy only into an empty database"
    ]


@pytest.mark.parametrize("url", ["mysql://a@b/c", "postgresql://chorus@127.0.0.1:1/nothing"])
def test_a_bad_or_unreachable_target_is_one_line(manage, subprocess_env, url):
    done = _copy(manage, subprocess_env, url)
    assert done.returncode == 1
    [line] = done.stderr.strip().splitlines()
    assert line.startswith("CommandError: "), line
