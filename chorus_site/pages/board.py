"""The task board: tasks in columns by status (the state machine's order and labels), filtered, each card with the
moves a person may make; the auto-dispatch switch of each live session. An update sends the columns that changed."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping

from django.db.models import Count

from chorus_site.pages.base import SESSION, TASK, Fragment, LivePage
from sessions_app import selectors as session_selectors
from tasks_app import lifecycle
from tasks_app import selectors as task_selectors

# Cards shown per board column; the column's count says how many there are, a filter shows the rest.
COLUMN_LIMIT = 40


@dataclasses.dataclass
class Column:
    status: str
    label: str
    tasks: list
    count: int

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


def board(filters: Mapping[str, str]) -> dict:
    queryset = _query(filters)
    counts = dict(queryset.order_by().values_list("status").annotate(n=Count("id")))
    columns = []
    for status in lifecycle.STATUSES:
        cards = list(queryset.filter(status=status)[:COLUMN_LIMIT])
        columns.append(Column(status, lifecycle.LABELS[status], cards, counts.get(status, 0)))
    shown = [task for column in columns for task in column.tasks]
    waits = task_selectors.blocked_by(shown)
    for task in shown:
        task.waiting_for = waits.get(task.id, [])
        task.moves = lifecycle.person_targets(task.status)
    return {"columns": columns, "total": sum(counts.values()), "status_labels": lifecycle.LABELS}


def live_sessions() -> dict:
    return {"sessions": list(session_selectors.sessions(include_ended=False))}


def labels() -> list[str]:
    # Distinct lists first: thousands of tasks share a few, and each row's list is JSON to decode.
    lists = task_selectors.tasks().order_by().values_list("labels", flat=True).distinct()
    return sorted({label for labels in lists for label in labels})


class BoardPage(LivePage):
    name = "board"
    template = "board.html"
    section = "tasks"
    parameters = ("label", "priority", "session", "stale", "q")
    topics = (TASK,)

    def read_board(self) -> list[Fragment]:
        context = board(self.params)
        columns = [
            Fragment("board.html#column", {"column": c, "status_labels": lifecycle.LABELS}, f"column-{c.status}", c.key)
            for c in context["columns"]
        ]
        return [Fragment("board.html#board", context, covers=columns), *columns]

    def read_sessions(self) -> list[Fragment]:
        context = live_sessions()
        shown = tuple((s.name, s.status, s.auto_dispatch) for s in context["sessions"])
        return [Fragment("board.html#dispatch-sessions", context, key=shown)]

    partials = {"board": read_board, "column": read_board, "dispatch-sessions": read_sessions}
    renders = {TASK: ("column",), SESSION: ("dispatch-sessions",)}

    def context(self) -> dict:
        return {
            **super().context(),
            **board(self.params),
            **live_sessions(),
            "filters": self.params,
            "labels": labels(),
        }
