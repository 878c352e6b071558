"""The project's documents as a tree of folders, and one document with line numbers: lines are selected to make a
task of them or to add them to one, and the references into the document stand beside their lines."""

from __future__ import annotations

import dataclasses
import posixpath
from collections.abc import Mapping

from chorus_site.pages.base import DOCUMENT, TASK, Fragment, LivePage, found
from documents_app import selectors as document_selectors
from tasks_app import lifecycle
from tasks_app import selectors as task_selectors


def _tree(documents: list) -> list[tuple[str, list]]:
    folders: dict[str, list] = {}
    for document in documents:
        folders.setdefault(posixpath.dirname(document.path), []).append(document)
    return sorted(folders.items())


def listing() -> dict:
    documents = list(document_selectors.documents())
    return {"folders": _tree(documents), "count": len(documents)}


class DocumentsPage(LivePage):
    name = "documents"
    template = "documents.html"
    section = "documents"
    topics = (DOCUMENT,)

    def read_listing(self) -> list[Fragment]:
        return [Fragment("documents.html#document-list", listing())]

    partials = {"document-list": read_listing}
    renders = {DOCUMENT: ("document-list",)}

    def context(self) -> dict:
        return {**super().context(), **listing()}


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


def view(path: str) -> dict:
    excerpt = found(document_selectors.document_excerpt, path)
    references = task_selectors.references_for_document(excerpt.document.path)
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


def open_tasks(path: str) -> dict:
    tasks = task_selectors.tasks().exclude(status__in=lifecycle.FINISHED).only("id", "title", "version", "status")
    return {"open_tasks": list(tasks[:500]), "path": path}


class DocumentPage(LivePage):
    name = "document"
    template = "document.html"
    section = "documents"
    parameters = ("path",)
    topics = (TASK, "document:{path}")

    def __init__(self, params: Mapping[str, str]):
        super().__init__(params)
        self.path = self.params.get("path", "")

    def read_view(self) -> list[Fragment]:
        context = view(self.path)
        shown = (context["excerpt"].sha256, tuple((r.id, r.start, r.end, r.state) for r in context["references"]))
        return [
            Fragment("document.html#document-body", context, key=shown),
            Fragment("document.html#doc-references", context, key=shown),
        ]

    def read_tasks(self) -> list[Fragment]:
        return [Fragment("document.html#task-choice", open_tasks(self.path))]

    partials = {"document-body": read_view, "doc-references": read_view, "task-choice": read_tasks}
    renders = {
        TASK: ("document-body", "doc-references", "task-choice"),
        "document:{path}": ("document-body", "doc-references"),
    }

    def context(self) -> dict:
        return {**super().context(), **view(self.path), **open_tasks(self.path)}
