"""The event table's migrations keep what is stored and the chain verifiable, forwards and back."""

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from events_app import store
from events_app.audit import verify_events
from tests.demo import services
from tests.events_app.helpers import sql

BEFORE, BINARY = ("events_app", "0004_event_log_indexes"), ("events_app", "0005_event_hash_binary")


def migrate(target: tuple[str, str]) -> None:
    MigrationExecutor(connection).migrate([target])


@pytest.mark.django_db(transaction=True)
def test_hashes_stored_as_hex_become_their_bytes_and_the_chain_still_holds():
    services.counter_open("a", "first")
    services.counter_increment("a", 2)
    chain = [e.position for e in store.read()]
    try:
        migrate(BEFORE)
        as_text = [stored for (stored,) in sql("SELECT hash FROM chorus_event ORDER BY position")]
        assert all(isinstance(stored, str) and len(stored) == 64 for stored in as_text)
    finally:
        migrate(BINARY)

    as_bytes = [stored for (stored,) in sql("SELECT hash FROM chorus_event ORDER BY position")]
    assert as_bytes == [bytes.fromhex(stored) for stored in as_text]
    assert [e.position for e in store.read()] == chain
    assert verify_events().ok
    services.counter_increment("a", 3)
    assert verify_events().checked == 3
