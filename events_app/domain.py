"""Domain events: frozen dataclasses registered by type name, with schema versions upgraded on read."""

from __future__ import annotations

import dataclasses
import json
import types
import typing
from collections.abc import Callable
from typing import Any, ClassVar

Payload = dict[str, Any]
Upcaster = Callable[[Payload], Payload]


class EventError(Exception):
    """An event that cannot be stored, or a stored event that cannot be turned back into a domain event."""


@dataclasses.dataclass(frozen=True)
class DomainEvent:
    """Base of every event. Subclasses are frozen dataclasses whose fields are JSON values."""

    event_type: ClassVar[str] = ""
    schema_version: ClassVar[int] = 1
    stream_type: ClassVar[str] = ""

    def to_payload(self) -> Payload:
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}


_registry: dict[str, type[DomainEvent]] = {}
_upcasters: dict[tuple[str, int], Upcaster] = {}
# Per event class: (field name, accepted types) for the fields whose annotation is a plain JSON type.
_field_checks: dict[type[DomainEvent], list[tuple[str, tuple[type, ...]]]] = {}
_JSON_TYPES = (str, int, float, bool, list, dict)


def event(stream_type: str, *, name: str | None = None, version: int = 1):
    """Class decorator: make `cls` a frozen dataclass and register it under its type name."""
    if not stream_type:
        raise ValueError("an event needs a stream type")

    def wrap(cls: type) -> type[DomainEvent]:
        if not issubclass(cls, DomainEvent):
            namespace = {k: v for k, v in cls.__dict__.items() if k not in ("__dict__", "__weakref__")}
            cls = type(cls.__name__, (DomainEvent,), namespace)
        data_cls = dataclasses.dataclass(frozen=True)(cls)
        type_name = name or cls.__name__
        # The same class seen again (a module reloaded) replaces itself; another class may not take the name.
        known = _registry.get(type_name)
        if known is not None and (known.__module__, known.__qualname__) != (cls.__module__, cls.__qualname__):
            raise ValueError(
                f"event type {type_name!r} is registered twice: {known.__module__}.{known.__qualname__} "
                f"and {cls.__module__}.{cls.__qualname__}"
            )
        data_cls.event_type = type_name
        data_cls.schema_version = version
        data_cls.stream_type = stream_type
        _registry[type_name] = data_cls
        return data_cls

    return wrap


def upcaster(event_type: str, from_version: int):
    """Register a function turning a payload of `from_version` into one of `from_version + 1`."""

    def wrap(func: Upcaster) -> Upcaster:
        _upcasters[(event_type, from_version)] = func
        return func

    return wrap


def event_class(event_type: str) -> type[DomainEvent]:
    try:
        return _registry[event_type]
    except KeyError:
        raise EventError(f"unknown event type {event_type!r}") from None


def registered_types() -> dict[str, type[DomainEvent]]:
    return dict(_registry)


def _accepted(annotation: Any) -> tuple[type, ...] | None:
    """The runtime types a JSON value needs for this annotation, or None when it is not a plain JSON type."""
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        parts = [_accepted(arg) for arg in typing.get_args(annotation)]
        return None if None in parts else tuple(t for part in parts for t in part)
    if annotation is type(None):
        return (type(None),)
    if origin in (list, dict):
        return (origin,)
    if annotation is float:
        # JSON writes 1.0 as 1.0 but a producer may well pass 1: both read back as numbers.
        return (float, int)
    return (annotation,) if annotation in _JSON_TYPES else None


def _checks(cls: type[DomainEvent]) -> list[tuple[str, tuple[type, ...]]]:
    checks = _field_checks.get(cls)
    if checks is None:
        try:
            hints = typing.get_type_hints(cls)
        except Exception:
            # An annotation naming something not importable from the class's module (a class defined in a
            # function): its fields are simply not checked, rather than every append of it failing.
            hints = {}
        checks = []
        for field in dataclasses.fields(cls):
            accepted = _accepted(hints.get(field.name))
            if accepted is not None:
                checks.append((field.name, accepted))
        _field_checks[cls] = checks
    return checks


def check_fields(item: DomainEvent) -> None:
    """Raise EventError when a field's value does not have its annotated JSON type (bool is no int here)."""
    for name, accepted in _checks(type(item)):
        value = getattr(item, name)
        if not isinstance(value, accepted) or (isinstance(value, bool) and bool not in accepted):
            expected = " | ".join("None" if t is type(None) else t.__name__ for t in accepted)
            raise EventError(f"{item.event_type}.{name} is {type(value).__name__} {value!r}, expected {expected}")


def decode(event_type: str, schema_version: int, data: Any) -> DomainEvent:
    """Build the domain event from its stored form, upgrading older payloads first."""
    cls = event_class(event_type)
    if not isinstance(data, dict):
        raise EventError(f"payload is {type(data).__name__}, not an object")
    if schema_version > cls.schema_version:
        raise EventError(f"schema version {schema_version} is newer than this code knows ({cls.schema_version})")
    for version in range(schema_version, cls.schema_version):
        step = _upcasters.get((event_type, version))
        if step is None:
            raise EventError(f"no upcaster from schema version {version}")
        try:
            data = step(dict(data))
        except Exception as exc:
            # An upcaster meets whatever old rows hold; its failure is that row's problem, not a crash.
            raise EventError(f"upcasting from schema version {version} failed: {exc!r}") from exc
    try:
        item = cls(**data)
    except TypeError as exc:
        raise EventError(f"payload does not fit {event_type}: {exc}") from None
    check_fields(item)
    return item


# One encoder for every call: json.dumps with non-default options builds a new one each time.
_canonical = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def canonical_json(value: Any) -> str:
    """The one JSON spelling used for hashing: sorted keys, no spaces, UTF-8 kept."""
    return _canonical.encode(value)
