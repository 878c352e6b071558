"""Reactions of the demo domain, declared the way every Chorus reaction is (events_app.policies).

- Every increment of a counter is added to the "audit" counter too, in the same transaction, while "audit" is
  open; an increment by 13 is refused by the reaction (so the whole append rolls back).
- A counter named "echo" echoes each increment into itself: a loop the registry must stop.
- The worker notes every counter that is closed (a side effect: it must not run on replay); a counter named
  "flaky" makes the first attempt fail, as a side effect that fails once would.
"""

from django.conf import settings

from events_app import store
from events_app.policies import policy, worker_policy
from tests.demo.events import CounterClosed, CounterIncremented
from tests.demo.models import Counter

AUDIT = "audit"
UNLUCKY = 13
closed_seen: list[str] = []
heard_by_host: list[tuple[str, str]] = []
failed_once: set[str] = set()


class UnluckyIncrement(Exception):
    pass


@policy(CounterIncremented)
def increments_are_audited(recorded) -> None:
    if recorded.stream_id == "echo":
        store.append("counter", "echo", recorded.version, [CounterIncremented(by=recorded.event.by, note="echo")])
        return
    if recorded.stream_id == AUDIT or not Counter.objects.filter(pk=AUDIT, closed=False).exists():
        return
    if recorded.event.by == UNLUCKY:
        raise UnluckyIncrement(f"{recorded.stream_id} was incremented by {UNLUCKY}")
    version = store.stream_version("counter", AUDIT)
    store.append("counter", AUDIT, version, [CounterIncremented(by=recorded.event.by, note=recorded.stream_id)])


@worker_policy(CounterClosed, at_start=True)
def closed_counters_are_noted(batch) -> None:
    if not batch:
        closed_seen.append("(started)")
    for recorded in batch:
        if recorded.stream_id == "flaky" and "flaky" not in failed_once:
            failed_once.add("flaky")
            raise RuntimeError("the flaky side effect failed")
    closed_seen.extend(recorded.stream_id for recorded in batch)


@worker_policy(CounterClosed, per_host=True)
def closed_counters_are_heard_on_every_host(batch) -> None:
    heard_by_host.extend((settings.CHORUS_HOST_NAME, recorded.stream_id) for recorded in batch)
