"""Domain events: the JSON type checks on their fields, and decoding with upcasters."""

import pytest

from events_app.domain import EventError, check_fields, decode, event, upcaster


@event("demo-domain", name="DemoDomainShapes")
class Shapes:
    text: str
    maybe: int | None
    ratio: float
    tags: list[str]
    extra: dict
    anything: object


@pytest.mark.parametrize(
    "values",
    [
        {"text": "t", "maybe": None, "ratio": 1.5, "tags": [], "extra": {}, "anything": ("not", "checked")},
        {"text": "", "maybe": 3, "ratio": 2, "tags": ["a"], "extra": {"k": 1}, "anything": None},
    ],
)
def test_fields_of_the_annotated_json_types_pass(values):
    check_fields(Shapes(**values))


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("text", None, "DemoDomainShapes.text is NoneType None, expected str"),
        ("maybe", "3", "DemoDomainShapes.maybe is str '3', expected int | None"),
        ("maybe", False, "DemoDomainShapes.maybe is bool False, expected int | None"),
        ("ratio", True, "DemoDomainShapes.ratio is bool True, expected float | int"),
        ("tags", ("a",), "DemoDomainShapes.tags is tuple ('a',), expected list"),
        ("extra", [], "DemoDomainShapes.extra is list [], expected dict"),
    ],
)
def test_a_field_of_another_type_is_refused(field, value, message):
    values = {"text": "t", "maybe": None, "ratio": 1.0, "tags": [], "extra": {}, "anything": None, field: value}
    with pytest.raises(EventError) as refused:
        check_fields(Shapes(**values))
    assert str(refused.value) == message


def test_fields_whose_annotation_cannot_be_resolved_are_not_checked():
    class Local:
        pass

    @event("demo-domain", name="DemoDomainLocal")
    class WithLocal:
        value: "Local"  # a name only this function knows: typing cannot resolve it from the module

    check_fields(WithLocal(value=Local()))


@event("demo-domain", name="DemoDomainMoved", version=3)
class Moved:
    to: str
    by: str


@upcaster("DemoDomainMoved", 1)
def _rename_destination(data: dict) -> dict:
    return {"to": data.pop("destination"), **data}


@upcaster("DemoDomainMoved", 2)
def _add_mover(data: dict) -> dict:
    return {**data, "by": "someone"}


def test_decode_upcasts_step_by_step():
    assert decode("DemoDomainMoved", 1, {"destination": "x"}) == Moved(to="x", by="someone")
    assert decode("DemoDomainMoved", 2, {"to": "y"}) == Moved(to="y", by="someone")
    assert decode("DemoDomainMoved", 3, {"to": "z", "by": "me"}) == Moved(to="z", by="me")


def test_a_failing_upcaster_is_an_event_error():
    with pytest.raises(EventError, match="upcasting from schema version 1 failed: KeyError\\('destination'\\)"):
        decode("DemoDomainMoved", 1, {"to": "x"})


def test_a_missing_upcaster_and_an_unknown_type_are_event_errors():
    @event("demo-domain", name="DemoDomainGap", version=2)
    class Gap:
        pass

    with pytest.raises(EventError, match="no upcaster from schema version 1"):
        decode("DemoDomainGap", 1, {})
    with pytest.raises(EventError, match="unknown event type 'Nope'"):
        decode("Nope", 1, {})
