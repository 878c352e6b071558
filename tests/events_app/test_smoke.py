import pytest

from events_app import store
from tests.demo import services
from tests.demo.models import Counter


@pytest.mark.django_db
def test_smoke():
    services.counter_open("c1", "first")
    services.counter_increment("c1", 5)
    assert Counter.objects.get(pk="c1").value == 5
    assert [e.event_type for e in store.read()] == ["CounterOpened", "CounterIncremented"]
