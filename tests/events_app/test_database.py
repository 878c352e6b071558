"""CHORUS_DATABASE_URL becomes Django's DATABASES entry, anything else is one line and an exit; a PostgreSQL server
out of reach is one sentence."""

import django.db
import psycopg
import pytest

from events_app.database import database_from_url, unwritable


def test_a_postgresql_url_names_every_part_and_keeps_libpq_options():
    entry = database_from_url("X", "postgresql://ann:p%40ss@db.example:6543/chorus?sslmode=require")
    assert entry["ENGINE"] == "django.db.backends.postgresql"
    assert (entry["NAME"], entry["USER"], entry["PASSWORD"]) == ("chorus", "ann", "p@ss")
    assert (entry["HOST"], entry["PORT"], entry["OPTIONS"]) == ("db.example", "6543", {"sslmode": "require"})
    assert entry["CONN_HEALTH_CHECKS"] is True


def test_a_socket_directory_may_be_the_host():
    entry = database_from_url("X", "postgresql://ann@/chorus?host=/run/postgresql")
    assert (entry["HOST"], entry["PORT"], entry["OPTIONS"]) == ("/run/postgresql", "", {})


@pytest.mark.parametrize(
    "url",
    ["mysql://a@b/c", "postgresql://a@b:5432/", "postgresql://a@b:99999/c", "chorus.sqlite3", "postgresql://a@b/c/d"],
)
def test_anything_else_is_one_line(url):
    with pytest.raises(SystemExit) as refused:
        database_from_url("CHORUS_DATABASE_URL", url)
    assert str(refused.value).startswith("chorus: CHORUS_DATABASE_URL ")
    assert "\n" not in str(refused.value)


def _as_django(error: Exception) -> Exception:
    wrapped = django.db.OperationalError(str(error))
    wrapped.__cause__ = error
    return wrapped


@pytest.mark.parametrize(
    "error",
    [
        psycopg.OperationalError('connection failed: connection to server at "127.0.0.1", port 5 failed: refused'),
        psycopg.errors.AdminShutdown("terminating connection due to administrator command"),
        psycopg.errors.ConnectionFailure("server closed the connection unexpectedly"),
    ],
    ids=["refused", "shut down", "connection lost"],
)
def test_a_postgresql_server_out_of_reach_is_one_sentence(error):
    sentence = unwritable(_as_django(error))
    assert sentence.startswith("the database server cannot be reached (")
    assert sentence.endswith("); try again once it is back")
    assert "\n" not in sentence


def test_other_postgresql_errors_stay_errors():
    assert unwritable(_as_django(psycopg.errors.UndefinedTable('relation "x" does not exist'))) is None
