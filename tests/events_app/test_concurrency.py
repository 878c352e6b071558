"""Four processes append to one stream at once, retrying version conflicts: nothing lost, nothing doubled."""

import subprocess

import pytest

from events_app import projection, store
from events_app.audit import verify_events
from tests.demo.models import Counter
from tests.events_app.helpers import sql

WRITERS = 4
APPENDS = 500


@pytest.mark.integration
@pytest.mark.django_db(transaction=True)
def test_four_processes_appending_to_one_stream_lose_nothing(manage, subprocess_env):
    writers = [
        subprocess.Popen(
            [*manage, "demo_append", "shared", "--count", str(APPENDS), "--retry", "--wait"],
            env=subprocess_env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(WRITERS)
    ]
    try:
        # Each writer says "ready" once Django is up; then all are released together, so they really overlap.
        for writer in writers:
            assert writer.stdout.readline() == "ready\n"
        for writer in writers:
            writer.stdin.write("go\n")
            writer.stdin.flush()
        results = [writer.communicate(timeout=100) for writer in writers]
    finally:
        for writer in writers:
            writer.kill()
            writer.wait()

    for writer, (out, err) in zip(writers, results, strict=True):
        assert writer.returncode == 0, err
        assert len(out.splitlines()) == APPENDS
        assert err.startswith("retried "), err
    retried = sum(int(err.split()[1]) for _, err in results)

    rows = sql("SELECT event_type, version FROM chorus_event WHERE stream_id = 'shared' ORDER BY position")
    assert [kind for kind, _ in rows].count("CounterOpened") == 1
    assert [kind for kind, _ in rows].count("CounterIncremented") == WRITERS * APPENDS
    assert [version for _, version in rows] == list(range(1, WRITERS * APPENDS + 2))
    assert store.stream_version("counter", "shared") == WRITERS * APPENDS + 1
    counter = Counter.objects.get(pk="shared")
    assert (counter.value, counter.increments) == (WRITERS * APPENDS, WRITERS * APPENDS)
    audit = verify_events()
    assert audit.ok, audit.problem
    assert audit.checked == WRITERS * APPENDS + 1
    assert projection.verify() == []
    # Without conflicts this would not have tested the retry path at all.
    assert retried > 0
