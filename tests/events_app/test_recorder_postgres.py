"""The PostgreSQL recorder passes the recorder contract with either lock that serialises writers.

Runs only on a PostgreSQL database: tests/events_app/test_postgres.py runs it (with the projection, property and
concurrency suites) against a throw-away cluster; `CHORUS_DATABASE_URL=postgresql://... pytest` runs it directly.
"""

import json

import pytest
from django.db import connection

from events_app import store
from events_app.models import StoredEvent
from events_app.recorders import recorder_for
from events_app.recorders.postgres import PostgresRecorder
from tests.demo.events import CounterOpened
from tests.events_app.recorder_contract import ConcurrentRecorderContract, RecorderContract

pytestmark = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="needs a PostgreSQL database (tests/events_app/test_postgres.py)"
)


class TestPostgresAdvisoryLock(RecorderContract, ConcurrentRecorderContract):
    def make_recorder(self):
        return PostgresRecorder(lock_kind="advisory")


class TestPostgresTableLock(RecorderContract, ConcurrentRecorderContract):
    def make_recorder(self):
        return PostgresRecorder(lock_kind="table")


class TestPostgresThroughDjangosCursor(RecorderContract):
    """While a connection is wrapped (or queries are recorded), every statement takes Django's cursor."""

    @pytest.fixture
    def recorder(self, db):
        def passthrough(execute, sql, params, many, context):
            return execute(sql, params, many, context)

        with connection.execute_wrapper(passthrough), store.use_recorder(PostgresRecorder()) as chosen:
            yield chosen


def test_statements_are_prepared_once_per_connection(db):
    store.append("counter", "a", 0, [CounterOpened(name="a")])
    store.append("counter", "b", 0, [CounterOpened(name="b")])
    prepared = _prepared()
    store.append("counter", "c", 0, [CounterOpened(name="c")])
    assert _prepared() == prepared
    assert any("pg_advisory_xact_lock" in statement for statement in prepared), prepared


def test_every_statement_is_seen_by_an_execute_wrapper(db):
    seen = []

    def record(execute, sql, params, many, context):
        seen.append(sql)
        return execute(sql, params, many, context)

    with connection.execute_wrapper(record):
        store.append("counter", "a", 0, [CounterOpened(name="a")])
    assert any("pg_advisory_xact_lock" in sql for sql in seen)
    assert any("INSERT INTO chorus_event" in sql for sql in seen)


def _prepared() -> set[str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT statement FROM pg_prepared_statements")
        return {statement for (statement,) in cursor.fetchall()}


def test_the_default_database_gets_the_postgres_recorder_once(db):
    assert isinstance(recorder_for(), PostgresRecorder)
    assert recorder_for() is recorder_for()


def test_events_keep_their_json_text_and_time_as_sqlite_would(db):
    """The chain hashes the stored text: PostgreSQL must give back what was written, byte for byte."""
    with store.event_context(actor="zoë", source="test", zeta=1, alpha=[1, 2]):
        (recorded,) = store.append("counter", "a", 0, [CounterOpened(name="ä b")])
    position, *_, data, metadata, when = recorder_for().select(limit=1)[0]
    assert position == recorded.position
    assert data == '{"name":"ä b"}'
    assert json.loads(metadata)["actor"] == "zoë"
    assert metadata.index("alpha") < metadata.index("zeta")
    assert when == str(recorded.recorded_at.replace(tzinfo=None))
    assert StoredEvent.objects.get().data == {"name": "ä b"}
    assert store.read().__next__().recorded_at == recorded.recorded_at
