from events_app.domain import event, upcaster


@event("counter")
class CounterOpened:
    name: str


@event("counter", version=2)
class CounterIncremented:
    by: int
    note: str


@upcaster("CounterIncremented", 1)
def _add_note(data: dict) -> dict:
    return {**data, "note": ""}


@event("counter")
class CounterRenamed:
    name: str


@event("counter")
class CounterLabelled:
    """Labels merged into the counter's; a JSON object, so the store's JSON checks have something to check."""

    labels: dict


@event("counter")
class CounterClosed:
    pass
