"""Commands of the demo domain, written the way every Chorus service is: decide, then append."""

from events_app import store
from tests.demo.events import CounterClosed, CounterIncremented, CounterLabelled, CounterOpened, CounterRenamed
from tests.demo.models import Counter


class DemoError(Exception):
    pass


def counter_open(counter_id: str, name: str):
    return store.append("counter", counter_id, 0, [CounterOpened(name=name)])


def _open_counter(counter_id: str) -> Counter:
    counter = Counter.objects.filter(pk=counter_id).first()
    if counter is None or counter.closed:
        raise DemoError(f"no open counter {counter_id}")
    return counter


def counter_increment(counter_id: str, by: int, expected_version: int | None = None):
    _open_counter(counter_id)
    version = store.stream_version("counter", counter_id) if expected_version is None else expected_version
    return store.append("counter", counter_id, version, [CounterIncremented(by=by, note="")])


def counter_rename(counter_id: str, name: str):
    _open_counter(counter_id)
    return store.append("counter", counter_id, store.stream_version("counter", counter_id), [CounterRenamed(name)])


def counter_label(counter_id: str, labels: dict):
    _open_counter(counter_id)
    version = store.stream_version("counter", counter_id)
    return store.append("counter", counter_id, version, [CounterLabelled(labels=labels)])


def counter_close(counter_id: str):
    _open_counter(counter_id)
    return store.append("counter", counter_id, store.stream_version("counter", counter_id), [CounterClosed()])
