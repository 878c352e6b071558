"""The task board: tasks in columns by status (the state machine's order and labels), filtered, each card with the
moves a person may make; the auto-dispatch switch of each live session. An update sends the columns that changed."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping

from django.utils.http import urlencode

from chorus_site.pages.base import SESSION, TASK, Fragment, LivePage
from sessions_app import selectors as session_selectors
from tasks_app import lifecycle
from tasks_app import selectors as task_selectors

# Cards shown per open column; the column's count says how many there are, a filter shows the rest.
COLUMN_LIMIT = 40
# Finished columns grow for ever: they show their newest cards, a page at a time ("more" adds one).
FINISHED_PAGE = 20
READ_ATTEMPTS = 3
# Live sessions the auto-dispatch panel lists unless asked for all (`?sessions=all`).
DISPATCH_SHOWN = 24


@dataclasses.dataclass
class Column:
    status: str
    label: str
    tasks: list
    count: int
    more: str = ""  # the query string of the board showing another page of this column, if it has more

    @property
    def key(self) -> tuple:
        return (self.count, tuple((t.id, t.version, tuple(t.waiting_for)) for t in self.tasks))


def _int(value: str | None) -> int | None:
    try:
        return int(value) if value not in (None, "") else None
    except ValueError:
        return None


def _query(filters: Mapping[str, str]):
    queryset = task_selectors.tasks(
        label=filters.get("label") or None,
        session=filters.get("session") or None,
        stale=True if filters.get("stale") else None,
        search=filters.get("q") or None,
    )
    minimum = _int(filters.get("priority"))
    if minimum is not None:
        queryset = queryset.filter(priority__gte=minimum)
    return queryset


def shown(filters: Mapping[str, str], status: str) -> int:
    """How many cards the column shows: COLUMN_LIMIT, or for a finished one the pages the board was asked for."""
    if status not in lifecycle.FINISHED:
        return COLUMN_LIMIT
    pages = -(-max(_int(filters.get(status)) or FINISHED_PAGE, FINISHED_PAGE) // FINISHED_PAGE)
    return pages * FINISHED_PAGE


def _column(queryset, status: str, limit: int) -> list:
    """The column's first cards: the most urgent, or in a finished column the last to finish."""
    order = ("-status_since", "-id") if status in lifecycle.FINISHED else ("-priority", "id")
    return list(queryset.filter(status=status).order_by(*order)[:limit])


def board(filters: Mapping[str, str]) -> dict:
    queryset = _query(filters)
    # The counts, the cards, and the counts again until both agree (a write between them moves the versions'
    # sums): a task that moves meanwhile cannot be counted in one column and shown in another. No transaction: a
    # page takes no write lock.
    counts = task_selectors.status_counts(queryset)
    for _attempt in range(READ_ATTEMPTS):
        cards = {s: _column(queryset, s, shown(filters, s)) for s in lifecycle.STATUSES if counts.get(s)}
        before, counts = counts, task_selectors.status_counts(queryset)
        if counts == before:
            break
    columns = []
    for status in lifecycle.STATUSES:
        tasks, count = cards.get(status, []), counts.get(status, (0, 0))[0]
        more = ""
        if status in lifecycle.FINISHED and count > len(tasks):
            more = urlencode({**filters, status: len(tasks) + FINISHED_PAGE})
        columns.append(Column(status, lifecycle.LABELS[status], tasks, count, more))
    shown_cards = [task for column in columns for task in column.tasks]
    waits = task_selectors.blocked_by(shown_cards)
    for task in shown_cards:
        task.waiting_for = waits.get(task.id, [])
        task.moves = lifecycle.person_targets(task.status)
    return {"columns": columns, "total": sum(c.count for c in columns), "status_labels": lifecycle.LABELS}


def live_sessions(filters: Mapping[str, str]) -> dict:
    """The live sessions the auto-dispatch panel shows: the first DISPATCH_SHOWN unless asked for all."""
    live = session_selectors.sessions(include_ended=False)
    count = live.count()
    everything = filters.get("sessions") == "all"
    return {
        "sessions": list(live if everything else live[:DISPATCH_SHOWN]),
        "sessions_count": count,
        "all_sessions": urlencode({**filters, "sessions": "all"}),
    }


class BoardPage(LivePage):
    name = "board"
    template = "board.html"
    section = "tasks"
    parameters = ("label", "priority", "session", "stale", "q", "sessions", *lifecycle.FINISHED)
    topics = (TASK,)

    def read_board(self) -> list[Fragment]:
        context = board(self.params)
        columns = [
            Fragment("board.html#column", {"column": c, "status_labels": lifecycle.LABELS}, f"column-{c.status}", c.key)
            for c in context["columns"]
        ]
        return [Fragment("board.html#board", context, covers=columns), *columns]

    def read_sessions(self) -> list[Fragment]:
        context = live_sessions(self.params)
        shown = (context["sessions_count"], tuple((s.name, s.status, s.auto_dispatch) for s in context["sessions"]))
        return [Fragment("board.html#dispatch-sessions", context, key=shown)]

    partials = {"board": read_board, "column": read_board, "dispatch-sessions": read_sessions}
    renders = {TASK: ("column",), SESSION: ("dispatch-sessions",)}

    def context(self) -> dict:
        return {
            **super().context(),
            **board(self.params),
            **live_sessions(self.params),
            "filters": self.params,
            "labels": task_selectors.labels(),
        }
