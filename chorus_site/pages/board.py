"""The task board: tasks in columns by status (the state machine's order and labels), filtered, each card with the
moves a person may make; the auto-dispatch switch of each live session. An update sends the columns that changed."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping

from django.db.models import Count, F, Window
from django.db.models.functions import RowNumber

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


def _cards(queryset) -> dict[str, list]:
    """The first COLUMN_LIMIT cards of each status, each carrying its column's count (`column_count`), in one
    statement: the count and the cards come from the same reading, so a task that moves meanwhile cannot be
    counted in one column and shown in none."""
    by_status = (F("status"),)
    ranked = queryset.annotate(
        place=Window(RowNumber(), partition_by=by_status, order_by=(F("priority").desc(), F("id").asc())),
        column_count=Window(Count("id"), partition_by=by_status),
    ).filter(place__lte=COLUMN_LIMIT)
    cards: dict[str, list] = {}
    for task in ranked.order_by("status", "place"):
        cards.setdefault(task.status, []).append(task)
    return cards


def board(filters: Mapping[str, str]) -> dict:
    cards = _cards(_query(filters))
    columns = []
    for status in lifecycle.STATUSES:
        shown_here = cards.get(status, [])
        count = shown_here[0].column_count if shown_here else 0
        columns.append(Column(status, lifecycle.LABELS[status], shown_here, count))
    shown = [task for column in columns for task in column.tasks]
    waits = task_selectors.blocked_by(shown)
    for task in shown:
        task.waiting_for = waits.get(task.id, [])
        task.moves = lifecycle.person_targets(task.status)
    return {"columns": columns, "total": sum(c.count for c in columns), "status_labels": lifecycle.LABELS}


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
