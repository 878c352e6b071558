"""Policies: every reaction to an event, declared in one registry ("when X is committed, do Y").

Two kinds, declared the same way in `<app>/policies.py`, imported on first need (the first append, the worker's
runner, a list of them; `discover`), so a command that appends nothing never loads the services they call:

    @policy(DocumentChanged, DocumentRemoved)                  # in the append's transaction
    def references_follow_their_document(recorded): ...

    @worker_policy(SessionStatusChanged, TaskReadied)          # in the worker, after the commit
    def dispatch_ready_tasks(batch): ...

- An in-transaction policy runs inside the append that recorded the event, after projection (the read models
  already show it), and may append more events through services: they commit or roll back together. Its events
  carry the triggering event's position as causation_id and the policy's name. A policy that raises undoes the
  whole append.
- A worker policy runs in the worker process, which follows the log from a checkpoint per policy
  (chorus_policy_checkpoint): at least once (a crash before the checkpoint moves repeats the batch), so it must be
  idempotent. It gets the matching events in position order, in batches; `at_start` policies are also called once
  with an empty batch when the worker starts, to reconcile what happened while it was down. A new policy starts at
  the end of the log: it reacts to what happens from then on, never to history.
- A worker policy is shared by the workers of every host (one checkpoint: whichever worker runs it first takes the
  batch) unless it is `per_host`: then every host's worker runs it with a checkpoint of its own (`name@host`), for a
  reaction that belongs to a machine (its files, its checkout, its desktop); its handler acts on its host's part.
- Neither kind runs on replay: a rebuild re-projects events, and the events policies appended are in the log.

`grep -rn "@policy\\|@worker_policy"` lists every reaction.
"""

from __future__ import annotations

import contextlib
import contextvars
import dataclasses
import logging
import time
from collections.abc import Callable, Sequence

from django.conf import settings
from django.db import transaction
from django.utils.module_loading import autodiscover_modules

from events_app import store
from events_app.domain import DomainEvent
from events_app.store import Appended, RecordedEvent, event_context

log = logging.getLogger("chorus.policies")
TRACKING = "policy"
# A policy whose events set off policies that set off ... this deep is a loop.
MAX_DEPTH = 16
BATCH = 500

InTransactionHandler = Callable[[RecordedEvent], None]
WorkerHandler = Callable[[list[RecordedEvent]], None]


class PolicyLoop(RuntimeError):
    """Policies kept reacting to each other's events: the chain is named and the append rolled back."""


@dataclasses.dataclass(frozen=True)
class Policy:
    name: str
    event_types: frozenset[str]
    handler: Callable
    in_transaction: bool
    at_start: bool = False
    per_host: bool = False

    @property
    def checkpoint(self) -> str:
        """The name its worker's checkpoint is kept under."""
        return f"{self.name}@{settings.CHORUS_HOST_NAME}" if self.per_host else self.name

    @property
    def module(self) -> str:
        return self.handler.__module__


_policies: dict[str, Policy] = {}
_by_type: dict[str, list[Policy]] = {}
_depth: contextvars.ContextVar[tuple[str, ...]] = contextvars.ContextVar("chorus_policy_chain", default=())
_discovered = False


def discover() -> None:
    """Import every installed app's `policies` module, once: their decorators register them. Each app's own
    services come with them, which is why this waits until a policy is needed (issue 17 item 16: `sessions list`
    starts without them)."""
    global _discovered
    if not _discovered:
        _discovered = True
        autodiscover_modules("policies")


def _register(
    event_classes: Sequence[type[DomainEvent]],
    *,
    name: str | None,
    in_transaction: bool,
    at_start: bool = False,
    per_host: bool = False,
):
    if not event_classes:
        raise ValueError("a policy reacts to at least one event type")

    def wrap(handler: Callable) -> Callable:
        policy_name = name or handler.__name__
        known = _policies.get(policy_name)
        if known is not None and (known.module, known.handler.__qualname__) != (
            handler.__module__,
            handler.__qualname__,
        ):
            raise ValueError(f"policy {policy_name!r} is registered twice: {known.module} and {handler.__module__}")
        types = frozenset(c.event_type for c in event_classes)
        found = Policy(policy_name, types, handler, in_transaction, at_start, per_host)
        _policies[policy_name] = found
        _index()
        return handler

    return wrap


def policy(*event_classes: type[DomainEvent], name: str | None = None):
    """Decorator: call `handler(recorded)` for each of these events inside the transaction that appends it."""
    return _register(event_classes, name=name, in_transaction=True)


def worker_policy(
    *event_classes: type[DomainEvent], name: str | None = None, at_start: bool = False, per_host: bool = False
):
    """Decorator: call `handler(batch)` in the worker with the committed events of these types (see above)."""
    return _register(event_classes, name=name, in_transaction=False, at_start=at_start, per_host=per_host)


def _index() -> None:
    _by_type.clear()
    for found in _policies.values():
        if found.in_transaction:
            for event_type in found.event_types:
                _by_type.setdefault(event_type, []).append(found)


def policies(*, in_transaction: bool | None = None) -> list[Policy]:
    """The registered policies (of one kind), in registration order."""
    discover()
    return [p for p in _policies.values() if in_transaction is None or p.in_transaction == in_transaction]


@contextlib.contextmanager
def suspended(*names: str):
    """Run the block without these policies (tests of what happens without a reaction, or of a worker policy
    called by hand)."""
    discover()
    registered = dict(_policies)
    for name in names:
        _policies.pop(name, None)
    _index()
    try:
        yield
    finally:
        # In the order they were registered: the order policies react in is the order of registration.
        _policies.clear()
        _policies.update(registered)
        _index()


def run_in_transaction(appended: Appended) -> None:
    """The store's `on_append` hook after projection: the in-transaction policies of each event, in order."""
    discover()
    if not _by_type:
        return
    for recorded in appended.events:
        for found in _by_type.get(recorded.event_type, ()):
            chain = _depth.get()
            if len(chain) >= MAX_DEPTH:
                raise PolicyLoop(f"policies react to each other's events without end: {' -> '.join(chain)}")
            token = _depth.set((*chain, f"{found.name}@#{recorded.position}"))
            try:
                with event_context(
                    causation_id=recorded.position,
                    correlation_id=recorded.metadata.get("correlation_id"),
                    policy=found.name,
                ):
                    found.handler(recorded)
            finally:
                _depth.reset(token)


class PolicyRunner:
    """The worker's job that follows the log for the worker policies (settings.CHORUS_WORKER_JOBS).

    One read of the log per tick from the lowest checkpoint; each policy gets its events and its checkpoint moves
    in a transaction of its own once the handler returned. A failing handler is logged (once per distinct error)
    and its batch is offered again on the next tick.
    """

    interval = 0.1

    def __init__(self) -> None:
        self._failing: dict[str, str] = {}

    def start(self) -> None:
        self._track_new()
        for found in policies(in_transaction=False):
            if found.at_start:
                self._call(found, [])

    @staticmethod
    def _track_new() -> None:
        """Give policies that have no checkpoint yet one at the end of the log."""
        chosen = store.recorder()
        with transaction.atomic(using=chosen.alias), contextlib.closing(chosen.cursor()) as cursor:
            existing = chosen.checkpoints(cursor, TRACKING)
            new = [p.checkpoint for p in policies(in_transaction=False) if p.checkpoint not in existing]
            if new:
                chosen.set_checkpoints(cursor, TRACKING, new, chosen.last_position(), existing)

    def stop(self) -> None:
        """Nothing runs between ticks."""

    def tick(self) -> None:
        chosen = store.recorder()
        worker = policies(in_transaction=False)
        if not worker:
            return
        with contextlib.closing(chosen.cursor()) as cursor:
            checkpoints = chosen.checkpoints(cursor, TRACKING)
        end = chosen.last_position()
        if any(p.checkpoint not in checkpoints for p in worker):
            self._track_new()
            return
        done = {p: checkpoints[p.checkpoint] for p in worker}
        start = min(done.values())
        if start >= end:
            return
        until = min(end, start + BATCH)
        events = list(store.read(after=start, until=until))
        for found, position in done.items():
            if position >= until:
                continue
            batch = [e for e in events if e.position > position and e.event_type in found.event_types]
            if batch and not self._call(found, batch):
                continue
            with transaction.atomic(using=chosen.alias), contextlib.closing(chosen.cursor()) as cursor:
                chosen.set_checkpoints(cursor, TRACKING, [found.checkpoint], until, checkpoints)

    def _call(self, found: Policy, batch: list[RecordedEvent]) -> bool:
        started = time.monotonic()
        last = batch[-1] if batch else None
        try:
            with event_context(
                actor="worker",
                source="worker",
                causation_id=last.position if last else None,
                correlation_id=last.metadata.get("correlation_id") if last else None,
                policy=found.name,
            ):
                found.handler(batch)
        except Exception as exc:
            if self._failing.get(found.name) != repr(exc):
                log.exception("policy %s failed; its events are offered again on the next tick", found.name)
                self._failing[found.name] = repr(exc)
            return False
        self._failing.pop(found.name, None)
        took = time.monotonic() - started
        if took > 1.0:
            log.warning("policy %s took %.1f s for %d event(s)", found.name, took, len(batch))
        return True
