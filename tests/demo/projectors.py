from events_app.projection import Projector, handles, register
from tests.demo.events import CounterClosed, CounterIncremented, CounterLabelled, CounterOpened, CounterRenamed
from tests.demo.models import Counter, CounterTotal


def _totals(rows):
    return rows.get(CounterTotal, "all") or CounterTotal(key="all")


@register
class CounterProjector(Projector):
    name = "demo_counters"
    models = (Counter, CounterTotal)

    @handles(CounterOpened)
    def opened(self, recorded, rows):
        rows.save(Counter(id=recorded.stream_id, name=recorded.event.name, opened_at=recorded.recorded_at))
        totals = _totals(rows)
        totals.open_counters += 1
        rows.save(totals)

    @handles(CounterIncremented)
    def incremented(self, recorded, rows):
        counter = rows.get(Counter, recorded.stream_id)
        counter.value += recorded.event.by
        counter.increments += 1
        rows.save(counter)
        totals = _totals(rows)
        totals.total += recorded.event.by
        rows.save(totals)

    @handles(CounterRenamed)
    def renamed(self, recorded, rows):
        counter = rows.get(Counter, recorded.stream_id)
        counter.name = recorded.event.name
        rows.save(counter)

    @handles(CounterLabelled)
    def labelled(self, recorded, rows):
        counter = rows.get(Counter, recorded.stream_id)
        # In place on purpose: the unit of work must notice a JSON value changed without being reassigned.
        counter.labels.update(recorded.event.labels)
        rows.save(counter)

    @handles(CounterClosed)
    def closed(self, recorded, rows):
        counter = rows.get(Counter, recorded.stream_id)
        counter.closed = True
        rows.save(counter)
        totals = _totals(rows)
        totals.open_counters -= 1
        rows.save(totals)
