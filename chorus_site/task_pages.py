"""The task board, one task, the document list and the document viewer as live pages (see chorus_site.pages)."""

from __future__ import annotations

import dataclasses
import posixpath
from typing import Any

from django.db.models import Count

from chorus_site.pages import SESSIONS, LivePage, PageNotFound, render
from documents_app import selectors as document_selectors
from documents_app import services as document_services
from events_app import live
from sessions_app import selectors as session_selectors
from tasks_app import selectors as task_selectors
from tasks_app.errors import TaskError, UnknownTask
from tasks_app.models import ACTIVE, FINISHED, STATUSES

TASKS = live.topic_group("task")
DOCUMENTS = live.topic_group("document")
# Cards shown per board column; the column's count says how many there are, a filter shows the rest.
COLUMN_LIMIT = 40
STATUS_LABELS = {
    "backlog": "Backlog",
    "ready": "Ready",
    "assigned": "Assigned",
    "in_progress": "In progress",
    "review": "Review",
    "done": "Done",
    "failed": "Failed",
    "cancelled": "Cancelled",
}
# Where a person can move a task by hand (task_set_status); assigned and the rest come from assigning and the worker.
MOVE_TARGETS = {
    "backlog": ("ready", "cancelled"),
    "ready": ("backlog", "cancelled"),
    "assigned": ("ready", "done", "failed", "cancelled"),
    "in_progress": ("ready", "done", "failed", "cancelled"),
    "review": ("done", "failed", "ready", "cancelled"),
    "done": ("ready",),
    "failed": ("ready",),
    "cancelled": ("ready",),
}


def open_tasks() -> list:
    return list(task_selectors.tasks().exclude(status__in=FINISHED).only("id", "title", "version", "status")[:500])


@dataclasses.dataclass
class Column:
    status: str
    label: str
    tasks: list
    count: int


def _int(value: str | None) -> int | None:
    try:
        return int(value) if value not in (None, "") else None
    except ValueError:
        return None


class BoardPage(LivePage):
    name = "board"
    template = "board.html"
    FILTERS = ("label", "priority", "session", "stale", "q")

    def __init__(self, params):
        super().__init__({k: params.get(k, "") for k in self.FILTERS if params.get(k)})
        self.shown: dict[str, tuple] = {}

    def groups(self):
        return [SESSIONS, TASKS]

    def _query(self):
        p = self.params
        queryset = task_selectors.tasks(
            label=p.get("label") or None,
            session=p.get("session") or None,
            stale=True if p.get("stale") else None,
            search=p.get("q") or None,
        )
        minimum = _int(p.get("priority"))
        if minimum is not None:
            queryset = queryset.filter(priority__gte=minimum)
        return queryset

    def _board(self) -> dict:
        queryset = self._query()
        counts = dict(queryset.order_by().values_list("status").annotate(n=Count("id")))
        columns = []
        shown = []
        for status in STATUSES:
            cards = list(queryset.filter(status=status)[:COLUMN_LIMIT])
            shown += cards
            columns.append(Column(status, STATUS_LABELS[status], cards, counts.get(status, 0)))
        waits = task_selectors.blocked_by(shown)
        for task in shown:
            task.waiting_for = waits.get(task.id, [])
            task.moves = MOVE_TARGETS.get(task.status, ())
        self.shown = {c.status: tuple((t.id, t.version) for t in c.tasks) for c in columns}
        return {"columns": columns, "total": sum(counts.values()), "status_labels": STATUS_LABELS}

    def _sessions(self) -> dict:
        return {"sessions": list(session_selectors.sessions(include_ended=False))}

    def context(self):
        labels = sorted(
            {label for labels in task_selectors.tasks().values_list("labels", flat=True) for label in labels}
        )
        return {
            **super().context(),
            **self._board(),
            **self._sessions(),
            "filters": self.params,
            "labels": labels,
        }

    def snapshot(self):
        return (
            render("board.html#board", self._board())
            + render("board.html#dispatch-sessions", self._sessions())
            + (super().snapshot())
        )

    def update(self, events):
        parts = [super().update(events)]
        if any(e["stream_type"] == "session" for e in events):
            parts.append(render("board.html#dispatch-sessions", self._sessions()))
        if any(e["stream_type"] == "task" for e in events):
            before = self.shown
            board = self._board()
            changed = [c for c in board["columns"] if before.get(c.status) != self.shown[c.status]]
            parts += [render("board.html#column", {"column": c, "status_labels": STATUS_LABELS}) for c in changed]
        return "".join(parts)


class TaskPage(LivePage):
    name = "task"
    template = "task.html"

    def __init__(self, params):
        super().__init__({"id": params.get("id", "")})
        self.task_id = self.params["id"]
        self.related: set[str] = set()

    def groups(self):
        return [SESSIONS, TASKS, live.topic_group("message")]

    def _task(self):
        try:
            return task_selectors.task(self.task_id)
        except (UnknownTask, TaskError):
            raise PageNotFound(f"no task {self.task_id}") from None

    def _detail(self) -> dict:
        task = self._task()
        related = task_selectors.tasks(archived=None).filter(pk__in=[*task.depends_on])
        dependents = task_selectors.dependents(task.id)
        waiting = set(task_selectors.blocked_by([task]).get(task.id, []))
        depends = [(t, t.id in waiting) for t in related.order_by("id")]
        self.related = {str(task.id), *(str(n) for n in task.depends_on), *(str(n) for n in dependents)}
        prompt, why_not = task_selectors.prompt_preview(task)
        return {
            "task": task,
            "references": task_selectors.references(task.id),
            "depends": depends,
            "dependents": list(task_selectors.tasks(archived=None).filter(pk__in=dependents).order_by("id")),
            "dispatches": list(task_selectors.dispatches(task.id, 20)),
            "moves": MOVE_TARGETS.get(task.status, ()),
            "prompt_preview": prompt,
            "prompt_problem": why_not,
            "status_labels": STATUS_LABELS,
            "active": task.status in ACTIVE,
        }

    def _sessions(self) -> dict:
        task = self._task()
        return {"task": task, "sessions": list(session_selectors.sessions(include_ended=False))}

    def context(self):
        return {**super().context(), **self._detail(), **self._sessions()}

    def snapshot(self):
        return (
            render("task.html#task-detail", self._detail())
            + render("task.html#assign", self._sessions())
            + (super().snapshot())
        )

    def update(self, events):
        parts = [super().update(events)]
        touched = any(e["stream_type"] == "task" and e["stream_id"] in self.related for e in events)
        if touched or any(e["stream_type"] == "message" for e in events):
            parts.append(render("task.html#task-detail", self._detail()))
        if touched or any(e["stream_type"] == "session" for e in events):
            parts.append(render("task.html#assign", self._sessions()))
        return "".join(parts)


def _tree(documents: list) -> list[tuple[str, list]]:
    folders: dict[str, list] = {}
    for document in documents:
        folders.setdefault(posixpath.dirname(document.path), []).append(document)
    return sorted(folders.items())


class DocumentsPage(LivePage):
    name = "documents"
    template = "documents.html"

    def groups(self):
        return [SESSIONS, DOCUMENTS]

    def _list(self) -> dict:
        documents = list(document_selectors.documents())
        return {"folders": _tree(documents), "count": len(documents)}

    def context(self):
        return {**super().context(), **self._list()}

    def snapshot(self):
        return render("documents.html#document-list", self._list()) + super().snapshot()

    def update(self, events):
        parts = [super().update(events)]
        if any(e["stream_type"] == "document" for e in events):
            parts.append(render("documents.html#document-list", self._list()))
        return "".join(parts)


@dataclasses.dataclass
class ViewLine:
    number: int
    text: str
    references: list  # references whose range covers this line
    starts: list  # references that start on this line (shown beside it)

    @property
    def state(self) -> str:
        states = {r.state for r in self.references}
        return "stale" if "stale" in states else ("current" if states else "")


class DocumentPage(LivePage):
    name = "document"
    template = "document.html"

    def __init__(self, params):
        super().__init__({"path": params.get("path", "")})
        self.path = self.params["path"]
        self.signature: Any = None

    def groups(self):
        return [SESSIONS, TASKS, live.topic_group(f"document:{self.path}")]

    def _view(self) -> dict:
        try:
            excerpt = document_selectors.document_excerpt(self.path)
        except document_services.DocumentError as exc:
            raise PageNotFound(str(exc)) from None
        references = task_selectors.references_for_document(excerpt.document.path)
        self.signature = (excerpt.sha256, tuple((r.id, r.start, r.end, r.state) for r in references))
        lines = []
        for line in excerpt.lines:
            covering = [r for r in references if r.start <= line.number <= r.end]
            lines.append(ViewLine(line.number, line.text, covering, [r for r in covering if r.start == line.number]))
        return {
            "document": excerpt.document,
            "excerpt": excerpt,
            "lines": lines,
            "references": references,
            "path": excerpt.document.path,
        }

    def _tasks(self) -> dict:
        return {"open_tasks": open_tasks(), "path": self.path}

    def context(self):
        return {**super().context(), **self._view(), **self._tasks()}

    def snapshot(self):
        view = self._view()
        return "".join(
            [
                render("document.html#document-body", view),
                render("document.html#doc-references", view),
                render("document.html#task-choice", self._tasks()),
                super().snapshot(),
            ]
        )

    def update(self, events):
        parts = [super().update(events)]
        if any(e["stream_type"] in ("task", "document") for e in events):
            before = self.signature
            view = self._view()
            if self.signature != before:
                parts.append(render("document.html#document-body", view))
                parts.append(render("document.html#doc-references", view))
            if any(e["stream_type"] == "task" for e in events):
                parts.append(render("document.html#task-choice", self._tasks()))
        return "".join(parts)
