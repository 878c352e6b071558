"""Usage and budgets: the turns the worker read from a session's records become one UsageRecorded (per session and
look), priced at the prices in force; spend crossing a budget pauses dispatch, and a person resumes it."""

from __future__ import annotations

from collections.abc import Iterable

from django.conf import settings
from django.db import transaction

from events_app import store
from sessions_app.prices import Prices
from sessions_app.usage import Read
from tasks_app import events as ev
from tasks_app import selectors

DISPATCH_STREAM = ("dispatch", "fleet")


def _spent(models: dict) -> int:
    return sum(spent["cost_micros"] for spent in models.values())


def usage_record(session: str, reads: Iterable[Read], prices: Prices) -> store.RecordedEvent | None:
    """Record what `reads` of `session`'s files found, if they found any turn or bad line; None otherwise (a cursor
    that only moved over lines counting nothing is not worth an event: read again, they count nothing again)."""
    reads = [read for read in reads if read.cursor is not None]
    models: dict[str, dict[str, int]] = {}
    for read in reads:
        for turn in read.turns:
            spent = models.setdefault(
                turn.model,
                dict.fromkeys(("turns", "input", "output", "cache_read", "cache_write", "cost_micros", "unpriced"), 0),
            )
            cost = prices.cost_micros(turn)
            spent["turns"] += 1
            spent["input"] += turn.input
            spent["output"] += turn.output
            spent["cache_read"] += turn.cache_read
            spent["cache_write"] += turn.cache_write
            spent["cost_micros"] += cost or 0
            spent["unpriced"] += cost is None
    bad_lines = sum(read.bad_lines for read in reads)
    if not models and not bad_lines:
        return None
    files = {
        read.cursor.path: {"inode": read.cursor.inode, "offset": read.cursor.offset, "memo": read.cursor.memo}
        for read in reads
    }
    event = ev.UsageRecorded(
        task=selectors.task_of_turns(session), day=selectors.today(), models=models, files=files, bad_lines=bad_lines
    )
    return store.append("usage", session, store.stream_version("usage", session), [event])[0]


def usage_record_sessions(found: dict[str, list[Read]], prices: Prices) -> int:
    """usage_record for each session's reads of one look, in one transaction (one commit for the whole fleet, not
    one per session); how many sessions had something to record."""
    with transaction.atomic(using=store.recorder().alias):
        return sum(usage_record(session, reads, prices) is not None for session, reads in found.items())


def budget_crossed(event: ev.UsageRecorded) -> ev.DispatchPaused | None:
    """The pause a just-recorded UsageRecorded calls for (the read models already count it), if it crossed a
    budget: the daily one (CHORUS_DAILY_BUDGET) or its task's (CHORUS_TASK_BUDGET)."""
    cost = _spent(event.models)
    day = selectors.usage_of("day", event.day)
    daily = settings.CHORUS_DAILY_BUDGET
    if daily is not None and day is not None and day.cost_micros - cost < daily * 1e6 <= day.cost_micros:
        return ev.DispatchPaused(reason=f"daily budget ${daily:.2f} reached", budget="day", day=event.day)
    per_task = settings.CHORUS_TASK_BUDGET
    task = selectors.usage_of("task", event.task) if event.task is not None else None
    if per_task is not None and task is not None and task.cost_micros - cost < per_task * 1e6 <= task.cost_micros:
        reason = f"task {event.task}'s budget ${per_task:.2f} reached"
        return ev.DispatchPaused(reason=reason, budget="task", day=event.day, task=event.task)
    return None


def dispatch_pause(paused: ev.DispatchPaused) -> None:
    store.append(*DISPATCH_STREAM, store.stream_version(*DISPATCH_STREAM), [paused])


def dispatch_resume(by: str = "person") -> bool:
    """Let dispatch give tasks again; False when no pause held it (nothing is recorded then)."""
    if selectors.dispatch_pause() is None:
        return False
    store.append(*DISPATCH_STREAM, store.stream_version(*DISPATCH_STREAM), [ev.DispatchResumed(by=by)])
    return True
