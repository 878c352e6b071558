"""Domain events: frozen dataclasses registered by type name, with schema versions upgraded on read."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from typing import Any, ClassVar

Payload = dict[str, Any]
Upcaster = Callable[[Payload], Payload]


class EventError(Exception):
    """A stored event that cannot be turned back into a domain event."""


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


def event(stream_type: str, *, name: str | None = None, version: int = 1):
    """Class decorator: make `cls` a frozen dataclass and register it under its type name."""

    def wrap(cls: type) -> type[DomainEvent]:
        if not issubclass(cls, DomainEvent):
            namespace = {k: v for k, v in cls.__dict__.items() if k not in ("__dict__", "__weakref__")}
            cls = type(cls.__name__, (DomainEvent,), namespace)
        data_cls = dataclasses.dataclass(frozen=True)(cls)
        type_name = name or cls.__name__
        if type_name in _registry and _registry[type_name].__qualname__ != cls.__qualname__:
            raise ValueError(f"event type {type_name!r} is registered twice")
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
        data = step(dict(data))
    try:
        return cls(**data)
    except TypeError as exc:
        raise EventError(f"payload does not fit {event_type}: {exc}") from None


def canonical_json(value: Any) -> str:
    """The one JSON spelling used for hashing: sorted keys, no spaces, UTF-8 kept."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
