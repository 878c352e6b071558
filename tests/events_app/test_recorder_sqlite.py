"""The SQLite recorder passes the recorder contract on both of its cursor paths: the raw sqlite3 fast path and
Django's cursor (the one a recording or wrapped connection takes)."""

from datetime import timedelta

import pytest
from django.db import connection

from events_app import store
from events_app.recorders import recorder_for
from events_app.recorders.sqlite import RawCursor, SQLiteRecorder
from tests.demo.events import CounterIncremented, CounterOpened
from tests.events_app.recorder_contract import WHEN, ConcurrentRecorderContract, RecorderContract


class TestSQLiteRawCursor(RecorderContract, ConcurrentRecorderContract):
    def make_recorder(self):
        return SQLiteRecorder(raw=True)

    def test_the_fast_path_is_the_raw_cursor(self, recorder):
        assert isinstance(recorder.cursor(), RawCursor)


class TestSQLiteDjangoCursor(RecorderContract, ConcurrentRecorderContract):
    def make_recorder(self):
        return SQLiteRecorder(raw=False)

    def test_every_statement_goes_through_djangos_cursor(self, recorder, django_assert_num_queries):
        with django_assert_num_queries(2):
            recorder.last_position()
            recorder.stream_version("counter", "a")


def test_the_default_database_gets_the_sqlite_recorder_once(db):
    assert isinstance(recorder_for(), SQLiteRecorder)
    assert recorder_for() is recorder_for()


# Each filter, and what its query's plan must seek on.
FILTERS = {
    "nothing": ({}, ""),
    "one stream": ({"stream_type": "counter", "stream_id": "a"}, "stream_id=?"),
    "a type of stream": ({"stream_type": "counter"}, "stream_type=?"),
    "an event type": ({"event_types": ["CounterIncremented"]}, "event_type=?"),
    "several event types": ({"event_types": ["CounterOpened", "CounterIncremented"]}, "event_type=?"),
    "an actor": ({"actor": "alice"}, "<expr>=?"),
    "a time": ({"since": WHEN, "before": WHEN + timedelta(days=3650)}, "rowid"),
}


@pytest.mark.parametrize("descending", [False, True], ids=["oldest first", "newest first"])
@pytest.mark.parametrize("bounds", [{}, {"after": 1, "until": 3}], ids=["first page", "a later page"])
@pytest.mark.parametrize(("filters", "seek"), FILTERS.values(), ids=FILTERS.keys())
def test_every_filter_seeks_an_index_in_position_order(db, filters, seek, bounds, descending):
    """No filter sorts its matches (a temporary b-tree) or reads the whole table: a page costs the same at any
    size of log or stream (bench/event_log.py measures it at a million events)."""
    with store.event_context(actor="alice"):
        store.append("counter", "a", 0, [CounterOpened(name="a")])
        store.append("counter", "b", 0, [CounterOpened(name="b")])
        store.append("counter", "a", 1, [CounterIncremented(by=1, note="")])
    statements = []

    def record(execute, sql, params, many, context):
        statements.append((sql, params))
        return execute(sql, params, many, context)

    with connection.execute_wrapper(record):
        found = SQLiteRecorder(raw=False).select(limit=2, descending=descending, **filters, **bounds)

    assert found
    selects = [(sql, params) for sql, params in statements if "ORDER BY" in sql and "LIMIT" in sql]
    assert selects
    with connection.cursor() as cursor:
        for sql, params in selects:
            cursor.execute(f"EXPLAIN QUERY PLAN {sql}", params)
            plan = " / ".join(row[-1] for row in cursor.fetchall())
            assert "TEMP B-TREE" not in plan, (sql, plan)
            assert plan.startswith("SEARCH") or (plan == "SCAN chorus_event" and not filters), (sql, plan)
            assert seek in plan, (sql, plan)
