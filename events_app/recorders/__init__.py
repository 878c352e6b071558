"""Recorders by database backend: the store asks for the one of its connection.

A new backend is a Recorder subclass named here by its Django `connection.vendor`, passing the contract suite.
"""

from __future__ import annotations

from typing import Any

from django.db import DEFAULT_DB_ALIAS, connections
from django.db.backends.signals import connection_created
from django.utils.module_loading import import_string

from events_app.recorders.base import Cursor, Recorder

__all__ = ["BACKENDS", "Cursor", "Recorder", "recorder_for"]

BACKENDS = {
    "sqlite": "events_app.recorders.sqlite.SQLiteRecorder",
    "postgresql": "events_app.recorders.postgres.PostgresRecorder",
}
_recorders: dict[str, Recorder] = {}


def recorder_for(alias: str = DEFAULT_DB_ALIAS) -> Recorder:
    """The recorder of a database connection, made once per process."""
    recorder = _recorders.get(alias)
    if recorder is None:
        vendor = connections[alias].vendor
        if vendor not in BACKENDS:
            raise RuntimeError(
                f"no event recorder for the {vendor} database backend (known: {', '.join(sorted(BACKENDS))})"
            )
        recorder = _recorders[alias] = import_string(BACKENDS[vendor])(alias)
    return recorder


def _prepare(sender: Any, connection: Any, **kwargs: Any) -> None:
    """A backend's own setup of each new connection (PostgreSQL's: the event table's json read as text, prepared
    statements for the recorder)."""
    if connection.vendor == "postgresql":
        from events_app.recorders.postgres import prepare_connection

        prepare_connection(connection)


connection_created.connect(_prepare, dispatch_uid="chorus_recorder_prepare")
