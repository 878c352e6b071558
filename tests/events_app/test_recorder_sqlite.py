"""The SQLite recorder passes the recorder contract on both of its cursor paths: the raw sqlite3 fast path and
Django's cursor (the one a recording or wrapped connection takes)."""

from events_app.recorders import recorder_for
from events_app.recorders.sqlite import RawCursor, SQLiteRecorder
from tests.events_app.recorder_contract import ConcurrentRecorderContract, RecorderContract


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
