"""Document services: the only writers of document events. Entry points (commands, the API, the watcher) call these.

Other apps react to a document's events with policies (events_app.policies): references (tasks_app) follow their
text inside the transaction that records a change. A reaction that needs the new text asks
documents_app.selectors.document_current_lines, which serves the bytes the scanner has just read; a reaction that
raises rolls back that document's event, which the next scan or save records again.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import os
import shlex
import shutil
import time
from typing import NamedTuple

from django.conf import settings
from django.db import connection, transaction

from documents_app import discovery, reading
from documents_app import events as ev
from documents_app.content import Facts, count_lines, inspect
from documents_app.editor import EDITOR_SESSION, EditorLaunch, EditorTmux, editor_argv
from documents_app.errors import DocumentError
from documents_app.models import Document, ScannedFile
from events_app import store
from events_app.domain import DomainEvent
from events_app.models import Stream
from sessions_app import services as sessions_services
from sessions_app import tmux as tmux_adapter

log = logging.getLogger("chorus.documents")

# A file whose stat is this recent when it is read may still change within the file system clock's granularity
# without its stat changing (git's "racy" files): it is not remembered, so the next scan reads it again.
RACY_NS = 2_000_000_000
# The write phase takes the database's write lock once per batch, one append_many each; smaller batches let other
# writers (the worker's status changes) in between during a first scan of a large tree. 500 hold it for 26-40
# ms and scan 5,000 documents 8% faster than 200 (bench/documents.py).
BATCH_FILES = 500
BATCH_BYTES = 16 << 20
DELETED = "the file was deleted"
BINARY = "binary (it contains a NUL byte)"


# --- scanning --------------------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class SkipNote:
    path: str
    reason: str


@dataclasses.dataclass
class ScanResult:
    added: int = 0
    changed: int = 0
    removed: int = 0
    unchanged: int = 0
    skipped: int = 0
    skipped_files: list[SkipNote] = dataclasses.field(default_factory=list)
    errors: list[str] = dataclasses.field(default_factory=list)
    seconds: float = 0.0

    def counts(self) -> dict[str, int]:
        return {
            "added": self.added,
            "changed": self.changed,
            "removed": self.removed,
            "unchanged": self.unchanged,
            "skipped": self.skipped,
        }

    def skip(self, path: str, reason: str) -> None:
        self.skipped += 1
        self.skipped_files.append(SkipNote(path, reason))


class Known(NamedTuple):
    sha256: str
    line_count: int
    version: int


@dataclasses.dataclass
class Observation:
    """What the disk holds at `path` now: a document's facts, or why it is not one (`facts` None)."""

    path: str
    absolute: str
    facts: Facts | None
    reason: str = ""
    data: bytes | None = None
    # False when it is what this host's scanner remembers of the file (its stat has not moved since)
    fresh: bool = True


class Pending(NamedTuple):
    """An event the write phase has decided to append for an observation."""

    observation: Observation
    version: int
    event: DomainEvent
    kind: str

    @property
    def lends(self) -> bool:
        return self.observation.data is not None


# The scanner's memory of a file (ScannedFile's columns, path first; the stat as _stat_key orders it), written
# over what it remembered before. ON CONFLICT ... DO UPDATE is SQLite's (3.24 on) and PostgreSQL's.
_SCANNED = ("size", "mtime_ns", "ctime_ns", "inode", "sha256", "line_count", "title", "skipped")
_REMEMBER = (
    f"INSERT INTO {ScannedFile._meta.db_table} (host, path, {', '.join(_SCANNED)}) "  # noqa: S608  (constant names)
    f"VALUES ({', '.join(['%s'] * (len(_SCANNED) + 2))}) "
    f"ON CONFLICT (host, path) DO UPDATE SET {', '.join(f'{name} = excluded.{name}' for name in _SCANNED)}"
)


def _stat_key(info: os.stat_result) -> tuple[int, int, int, int]:
    return (info.st_size, info.st_mtime_ns, info.st_ctime_ns, info.st_ino)


class _Writer:
    """The write phase: observations are re-decided against the read model under the write lock, in batches,
    so a scan and the watcher (or two scans) never record the same change twice."""

    def __init__(self, result: ScanResult):
        self.result = result
        self.pending: list[Observation] = []
        self.pending_bytes = 0
        self.remembered: list[tuple] = []
        self.outcomes: dict[str, str] = {}

    def add(self, observation: Observation) -> None:
        self.pending.append(observation)
        self.pending_bytes += len(observation.data or b"")
        if len(self.pending) >= BATCH_FILES or self.pending_bytes >= BATCH_BYTES:
            self.flush()

    def remember(self, path: str, info: os.stat_result, facts: Facts, read_at_ns: int) -> None:
        """Keep what this file holds for the next scan, unless its stat is too recent to vouch for it."""
        if read_at_ns - max(info.st_mtime_ns, info.st_ctime_ns) < RACY_NS:
            return
        skipped = BINARY if facts.binary else ""
        self.remembered.append(
            (settings.CHORUS_HOST_NAME, path, *_stat_key(info), facts.sha256, facts.line_count, facts.title, skipped)
        )
        if len(self.remembered) >= BATCH_FILES * 5:
            self._save_remembered()

    def _save_remembered(self) -> None:
        if self.remembered:
            # One prepared statement, not a model per file through bulk_create (a sixth of a first scan's time).
            with transaction.atomic(), connection.cursor() as cursor:
                cursor.executemany(_REMEMBER, self.remembered)
            self.remembered = []

    def flush(self) -> None:
        batch, self.pending, self.pending_bytes = self.pending, [], 0
        if not batch:
            self._save_remembered()
            return
        paths = [o.path for o in batch]
        with transaction.atomic():
            known = {
                path: Known(sha256, line_count, version)
                for path, sha256, line_count, version in Document.objects.filter(path__in=paths).values_list(
                    "path", "sha256", "line_count", "version"
                )
            }
            versions = dict(
                Stream.objects.filter(
                    stream_type="document", stream_id__in=[p for p in paths if p not in known]
                ).values_list("stream_id", "version")
            )
            appends = []
            for observation in batch:
                decided = self._decide(observation, known.get(observation.path), versions.get(observation.path, 0))
                if isinstance(decided, str):
                    self.outcomes[observation.path] = decided
                else:
                    appends.append(decided)
            self._append_all(appends)
            self._save_remembered()

    def _decide(self, o: Observation, known: Known | None, version: int) -> str | Pending:
        """What to append for this observation, or its outcome when there is nothing to append."""
        if o.facts is None:
            if known is None:
                return "skipped"
            return Pending(o, known.version, ev.DocumentRemoved(sha256=known.sha256, reason=o.reason[:500]), "removed")
        if known is not None and known.sha256 == o.facts.sha256:
            self.result.unchanged += 1
            return "unchanged"
        facts = o.facts
        if known is None:
            event = ev.DocumentAdded(
                title=facts.title, line_count=facts.line_count, sha256=facts.sha256, size=facts.size
            )
            return Pending(o, version, event, "added")
        event = ev.DocumentChanged(
            old_sha256=known.sha256,
            new_sha256=facts.sha256,
            old_line_count=known.line_count,
            new_line_count=facts.line_count,
            title=facts.title,
            size=facts.size,
        )
        return Pending(o, known.version, event, "changed")

    def _append_all(self, appends: list[Pending]) -> None:
        """The batch's events in one append (a first scan's thousands of documents cost several times as much one
        by one). Should any of them fail, a conflict or a reaction's error, that append is undone whole and each
        document is appended on its own, so only the failing one is left for the next scan."""
        if not appends:
            return
        lent = {p.observation.path: (p.observation.facts.sha256, p.observation.data) for p in appends if p.lends}
        try:
            with reading.just_read_many(lent), store.event_context(host=settings.CHORUS_HOST_NAME):
                store.append_many(("document", p.observation.path, p.version, [p.event]) for p in appends)
        except Exception:
            log.debug("a batch of %d document events failed; appending them one by one", len(appends), exc_info=True)
            for pending in appends:
                self.outcomes[pending.observation.path] = self._append(pending)
            return
        for pending in appends:
            self._count(pending.kind)
            self.outcomes[pending.observation.path] = pending.kind

    def _append(self, pending: Pending) -> str:
        # The reactions to this event read the bytes just read rather than the file again. The append is a
        # savepoint of the batch's transaction: a reaction that raises undoes this document's event alone.
        o, kind = pending.observation, pending.kind
        lent = reading.just_read(o.path, o.facts.sha256, o.data) if pending.lends else contextlib.nullcontext()
        try:
            with lent, store.event_context(host=settings.CHORUS_HOST_NAME):
                store.append("document", o.path, pending.version, [pending.event])
        except store.ConcurrencyError:
            self.result.errors.append(f"{o.path}: changed by another writer meanwhile; the next scan looks again")
            return "failed"
        except Exception as exc:
            # A reaction's bug (it rolled back with the event): one line for whoever reads the log, the traceback
            # at debug level.
            log.error("%s of document %s not recorded: %r", kind, o.path, exc)
            log.debug("recording %s of document %s failed", kind, o.path, exc_info=True)
            self.result.errors.append(f"{o.path}: {kind} not recorded: {exc}")
            return "failed"
        self._count(kind)
        return kind

    def _count(self, kind: str) -> None:
        setattr(self.result, kind, getattr(self.result, kind) + 1)


def _observe(
    config: discovery.Config,
    writer: _Writer,
    path: str,
    absolute: str,
    cached: tuple | None = None,
    stat_key: tuple | None = None,
) -> Observation | None:
    """Read one file (unless the scanner remembers it with this stat) and say what it is now; None when it is
    gone."""
    if cached is not None and cached[:4] == stat_key:
        sha256, line_count, title, skipped = cached[4:]
        if skipped:
            return Observation(path, absolute, None, skipped, fresh=False)
        return Observation(path, absolute, Facts(sha256, stat_key[0], line_count, title), fresh=False)
    read_at_ns = time.time_ns()
    try:
        data, info = discovery.read(absolute, config.max_bytes)
    except FileNotFoundError:
        return None
    except discovery.Unreadable as exc:
        return Observation(path, absolute, None, str(exc))
    facts = inspect(path, data)
    writer.remember(path, info, facts, read_at_ns)
    if facts.binary:
        return Observation(path, absolute, None, BINARY)
    return Observation(path, absolute, facts, data=data)


def documents_scan() -> ScanResult:
    """Look at the whole tree and record every document added, changed or removed since the last look.

    A file whose size, mtime, ctime and inode are what the scanner remembers is neither read nor hashed; one that
    was touched but holds the same bytes records nothing.

    Each host scans its own checkout. What another host recorded of a document is taken over only when this host's
    copy changed since this host last looked (read afresh, or gone from what it remembers): two checkouts that
    differ do not undo each other's content at every scan, and each event names the host whose copy it is."""
    started = time.monotonic()
    config = discovery.Config.current()
    result = ScanResult()
    writer = _Writer(result)
    here = settings.CHORUS_HOST_NAME
    known = {}
    elsewhere = set()
    for path, sha256, host in Document.objects.values_list("path", "sha256", "host"):
        known[path] = sha256
        if host not in ("", here):
            elsewhere.add(path)
    cache = {
        row[0]: row[1:]
        for row in ScannedFile.objects.filter(host=here)
        .values_list("path", "size", "mtime_ns", "ctime_ns", "inode", "sha256", "line_count", "title", "skipped")
        .iterator(chunk_size=5000)
    }
    present: set[str] = set()
    # In path order, so the log reads like the tree whoever scans.
    for found in sorted(discovery.walk(config), key=lambda item: item.path):
        if isinstance(found, discovery.Skipped):
            result.skip(found.path, found.reason)
            continue
        present.add(found.path)
        if found.stat.st_size > config.max_bytes:
            observation = Observation(
                found.path, found.absolute, None, discovery.too_large(found.stat.st_size, config.max_bytes)
            )
        else:
            observation = _observe(
                config, writer, found.path, found.absolute, cache.get(found.path), _stat_key(found.stat)
            )
        if observation is None:
            present.discard(found.path)
            continue
        if observation.facts is None:
            result.skip(found.path, observation.reason)
            if found.path in known and (observation.fresh or found.path not in elsewhere):
                writer.add(observation)
            continue
        recorded = known.get(found.path)
        if recorded == observation.facts.sha256 or (not observation.fresh and found.path in elsewhere):
            result.unchanged += 1
            continue
        if recorded is None:
            # Not kept for the write phase: nothing refers to a new document yet (one that comes back is read
            # again if references into it ask for its text).
            observation.data = None
        writer.add(observation)
    for path in sorted(set(known) - present):
        if path in elsewhere and path not in cache:
            continue  # another host's document this checkout never had
        absolute = config.absolute(path)
        writer.add(Observation(path, absolute, None, _why_not_found(config, path, absolute)))
    writer.flush()
    gone = [path for path in cache if path not in present]
    for start in range(0, len(gone), 500):
        ScannedFile.objects.filter(host=here, path__in=gone[start : start + 500]).delete()
    result.seconds = time.monotonic() - started
    return result


def _why_not_found(config: discovery.Config, path: str, absolute: str) -> str:
    if not os.path.lexists(absolute):
        return DELETED
    if os.path.islink(absolute):
        return "it is a symbolic link"
    return discovery.eligible(config, path) or "it is not a regular file"


def document_changed_on_disk(path: str) -> str:
    """Record what one file (relative to PROJECT_ROOT) holds now, when something said it changed (the watcher).

    Returns what happened: "added", "changed", "removed", "unchanged", "skipped" (not a document and never was),
    "absent" (no such file and no such document) or "failed" (see the log)."""
    normal = reading.normalise(path)
    config = discovery.Config.current()
    result = ScanResult()
    writer = _Writer(result)
    absolute = config.absolute(normal)
    reason = discovery.eligible(config, normal)
    observation = Observation(normal, absolute, None, reason) if reason else _observe(config, writer, normal, absolute)
    if observation is None:
        if not Document.objects.filter(pk=normal).exists():
            return "absent"
        observation = Observation(normal, absolute, None, DELETED)
    writer.add(observation)
    writer.flush()
    return writer.outcomes[normal]


# --- the editor ------------------------------------------------------------------------------------------------


def document_open_in_editor(path: str, line: int = 1) -> EditorLaunch:
    """Start `$EDITOR +LINE FILE` in a new window of the tmux session "chorus-editor" (created when needed).
    Without a usable tmux, nothing is started and the command is returned for the user to run."""
    current = reading.read_document(path)
    # An empty file can still be opened at its (empty) first line.
    reading.line_range(current.document.path, max(count_lines(current.data), 1), line, line)
    argv = editor_argv(settings.EDITOR, line, current.absolute)
    if shutil.which(argv[0]) is None:
        raise DocumentError(f"the editor {argv[0]!r} is not installed; set EDITOR to one that is")
    command = shlex.join(argv)
    adapter = EditorTmux.like(sessions_services.tmux())
    try:
        pane = adapter.open_window(EDITOR_SESSION, argv, cwd=str(settings.PROJECT_ROOT))
    except tmux_adapter.TmuxError as exc:
        return EditorLaunch(command=command, opened=False, reason=f"tmux is not available: {exc}")
    return EditorLaunch(
        command=command,
        opened=True,
        tmux_session=EDITOR_SESSION,
        pane_id=pane.pane_id,
        attach_command=adapter.attach_command(EDITOR_SESSION),
    )
