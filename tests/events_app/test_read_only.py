"""Read-only (CHORUS_READ_ONLY) holds in the store, for every process: nobody's change is recorded, the worker's
observations still are (the picture stays current), and a refusal writes nothing."""

import pytest

from events_app import store
from events_app.errors import ReadOnly
from tests.demo import services

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("source", ["cli", "web", "api", "admin", "test"])
def test_a_change_from_anyone_is_refused_and_nothing_is_written(settings, source):
    settings.CHORUS_READ_ONLY = True
    with store.event_context(actor="alice", source=source), pytest.raises(ReadOnly, match="runs read-only"):
        services.counter_open("c", "c")
    assert store.last_position() == 0


def test_without_a_context_an_append_counts_as_the_command_line_and_is_refused(settings):
    settings.CHORUS_READ_ONLY = True
    with pytest.raises(ReadOnly):
        services.counter_open("c", "c")


def test_what_the_worker_observes_is_still_recorded(settings):
    settings.CHORUS_READ_ONLY = True
    with store.event_context(actor="worker", source="worker"):
        services.counter_open("c", "c")
    assert store.stream_version("counter", "c") == 1
