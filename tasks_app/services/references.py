"""Services of a task's references: line ranges of documents, anchored by a hash and a snapshot of their text,
that follow the text when it moves and turn stale when it changes.

Decisions that need a document's current text are made here, never in a projector: a replay must not depend on
what the files say today.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Sequence

from events_app import store
from events_app.domain import DomainEvent
from tasks_app import anchoring, documents, selectors
from tasks_app import events as ev
from tasks_app.errors import ReferenceNotFound, TaskConflict, TaskError
from tasks_app.models import Reference, Task
from tasks_app.services.stream import append, task_at

MAX_REFERENCE_CHARS = 100_000
RANGE = re.compile(r"^(?P<path>.+):(?P<start>\d+)-(?P<end>\d+)$")


@dataclasses.dataclass(frozen=True)
class Range:
    """A line range of a document as a person gives it: `path:start-end`."""

    path: str
    start: int
    end: int

    @classmethod
    def parse(cls, spec: str) -> Range:
        found = RANGE.fullmatch(spec.strip()) if isinstance(spec, str) else None
        if found is None:
            raise TaskError(f"reference {spec!r} is not PATH:START-END (e.g. docs/design.md:10-24)")
        return cls(found["path"], int(found["start"]), int(found["end"]))

    @classmethod
    def of(cls, spec: Range | str | Sequence) -> Range:
        """A range from a Range, a `path:start-end` string or a (path, start, end) triple."""
        if isinstance(spec, Range):
            return spec
        if isinstance(spec, str):
            return cls.parse(spec)
        path, start, end = spec
        return cls(path, start, end)


def new_range(where: Range) -> tuple[Range, str]:
    """The normalised range and its current text; TaskError when the document or the range is not usable."""
    path, start, end = where.path, where.start, where.end
    try:
        path = documents.normalise(path)
    except documents.DocumentUnavailable as exc:
        raise TaskError(f"reference {path}:{start}-{end}: {exc}") from None
    try:
        lines = documents.read_lines(path)
    except documents.DocumentUnavailable as exc:
        raise ReferenceNotFound(f"reference {path}:{start}-{end}: {exc}") from None
    try:
        text = anchoring.check_range(path, lines, start, end)
    except anchoring.OutsideText as exc:
        raise TaskConflict(f"reference {path}:{start}-{end}: {exc}") from None
    except ValueError as exc:
        raise TaskError(f"reference {path}:{start}-{end}: {exc}") from None
    if len(text) > MAX_REFERENCE_CHARS:
        raise TaskError(
            f"reference {path}:{start}-{end} holds {len(text):,} characters; a reference quotes at most "
            f"{MAX_REFERENCE_CHARS:,}"
        )
    return Range(path, start, end), text


def reference_added(reference_id: str, where: Range, text: str) -> ev.ReferenceAdded:
    return ev.ReferenceAdded(
        reference_id=reference_id,
        path=where.path,
        start=where.start,
        end=where.end,
        sha256=anchoring.digest(text),
        snapshot=text,
    )


def reference_add(task_id: int, path: str, start: int, end: int, *, expected_version: int) -> Reference:
    """Anchor the task to lines `start`..`end` of document `path`: their hash and a snapshot of their text."""
    task = task_at(task_id, expected_version)
    where, text = new_range(Range(path, start, end))
    reference_id = f"{task.id}.{task.references_added + 1}"
    append(task, expected_version, [reference_added(reference_id, where, text)])
    return selectors.reference(task, reference_id)


def reference_remove(task_id: int, reference_id: str, *, expected_version: int) -> Task:
    task = task_at(task_id, expected_version)
    reference = selectors.reference(task, reference_id)
    return append(task, expected_version, [ev.ReferenceRemoved(reference_id=reference.id)])


def reference_refresh(
    task_id: int, reference_id: str, *, expected_version: int, start: int | None = None, end: int | None = None
) -> Reference:
    """Take the document's current text at the reference's range (or at `start`..`end`) as its new snapshot."""
    task = task_at(task_id, expected_version)
    reference = selectors.reference(task, reference_id)
    where, text = new_range(Range(reference.path, start or reference.start, end or reference.end))
    sha256 = anchoring.digest(text)
    unchanged = (where.start, where.end, sha256) == (reference.start, reference.end, reference.sha256)
    if not (unchanged and reference.state == Reference.CURRENT):
        refreshed = ev.ReferenceRefreshed(
            reference_id=reference.id, start=where.start, end=where.end, sha256=sha256, snapshot=text
        )
        append(task, expected_version, [refreshed])
    return selectors.reference(task, reference.id)


def _followed(reference: Reference, lines: list[str] | None) -> list[DomainEvent]:
    """What becomes of a reference given its document's lines now (None: the document is gone)."""
    if lines is None:
        return [] if reference.state == Reference.MISSING else [ev.ReferenceMissing(reference_id=reference.id)]
    found = anchoring.locate(reference.snapshot, lines, reference.start)
    if found.kind == anchoring.INTACT and reference.state == Reference.CURRENT:
        return []
    if found.kind in (anchoring.INTACT, anchoring.MOVED):
        return [ev.ReferenceReanchored(reference_id=reference.id, start=found.start, end=found.end)]
    sha256 = anchoring.digest(found.text)
    if reference.state == Reference.STALE and (reference.start, reference.end, reference.current_sha256) == (
        found.start,
        found.end,
        sha256,
    ):
        return []
    diff = anchoring.unified_diff(reference.path, reference.snapshot, found.text, found.start, found.end)
    return [
        ev.ReferenceStale(reference_id=reference.id, start=found.start, end=found.end, current_sha256=sha256, diff=diff)
    ]


def references_follow(path: str, lines: list[str] | None) -> None:
    """The document at `path` now holds `lines` (None: it is gone). References of tasks that are not archived
    follow moved text, turn stale when their text changed, or missing with the document; one append per task.
    Called by the policy reacting to the document's event, inside its transaction."""
    by_task: dict[int, list[Reference]] = {}
    for reference in sorted(selectors.references_for_document(path), key=lambda r: r.number):
        by_task.setdefault(reference.task_id, []).append(reference)
    for task in selectors.tasks(archived=None).filter(pk__in=by_task).order_by("id"):
        events = [event for reference in by_task[task.id] for event in _followed(reference, lines)]
        if events:
            store.append("task", str(task.id), task.version, events)


def _read_or_none(path: str) -> list[str] | None:
    try:
        return documents.read_lines(path)
    except documents.DocumentUnavailable:
        return None


def references_check(task_id: int, *, expected_version: int) -> Task:
    """Compare each reference with its document now, as following the document does: for when documents changed
    while nobody was watching them."""
    task = task_at(task_id, expected_version)
    cache: dict[str, list[str] | None] = {}
    events = []
    for reference in selectors.references(task.id):
        if reference.path not in cache:
            cache[reference.path] = _read_or_none(reference.path)
        events += _followed(reference, cache[reference.path])
    return append(task, expected_version, events)


def references_placed(task: Task, cache: dict[str, list[str]]) -> tuple[list[Reference], list[DomainEvent]]:
    """The task's references where their text is now (the documents' lines go into `cache`), and the re-anchoring
    events for those that moved; TaskConflict when one's text changed or its document is gone (a person must look
    at it first)."""
    placed, events = [], []
    for reference in selectors.references(task.id):
        if reference.path not in cache:
            try:
                cache[reference.path] = documents.read_lines(reference.path)
            except documents.DocumentUnavailable as exc:
                raise TaskConflict(f"task {task.id}: reference {reference.id} ({reference}): {exc}") from None
        found = anchoring.locate(reference.snapshot, cache[reference.path], reference.start)
        if found.kind == anchoring.CHANGED:
            raise TaskConflict(
                f"task {task.id}: reference {reference.id} ({reference}) is stale: its text changed; "
                "refresh or remove it first"
            )
        if (found.start, found.end) != (reference.start, reference.end) or reference.state != Reference.CURRENT:
            events.append(ev.ReferenceReanchored(reference_id=reference.id, start=found.start, end=found.end))
            reference.start, reference.end = found.start, found.end
        placed.append(reference)
    return placed, events
