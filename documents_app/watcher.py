"""The worker's document job: file system events under PROJECT_ROOT become recorded document changes.

watchdog's observer thread only collects paths (under a lock); the worker's thread, in tick(), waits until a path
has been quiet for a moment and then asks the service what the file holds, which records an event only when the
content really changed. So an editor's save dance (a temporary file renamed over the original, a backup file, a
swap file, several writes in a row) ends as one look at the final file. Changes to directories or to .gitignore
files can change which files are documents at all, so they lead to a whole scan instead; so does the first tick
(whatever changed while Chorus was not running) and, as a safety net for missed events, a periodic one.
"""

from __future__ import annotations

import logging
import os
import threading
import time

from django.conf import settings
from watchdog.events import FileSystemEvent, FileSystemEventHandler
from watchdog.observers import Observer

from documents_app import discovery, services

log = logging.getLogger("chorus.worker.documents")

# A path is looked at once no event came for it this long: an editor's several writes of one save coalesce.
QUIET_SECONDS = 0.2
# ... but a file written without pause (a growing log) is still looked at this often.
MAX_WAIT_SECONDS = 2.0
PERIODIC_SCAN_SECONDS = 300.0
# When the tree cannot be watched (inotify's watch limit, an unsupported file system), scan it this often.
UNWATCHED_SCAN_SECONDS = 5.0
# Event kinds that say nothing about content: opening, reading, a permission or time stamp change.
IGNORED_KINDS = frozenset({"opened", "closed_no_write", "attrib"})


def is_scratch(name: str) -> bool:
    """Editors' lock, swap, backup and probe files: Emacs `.#f` and `#f#`, `f~`, Vim `.f.swp` and `4913`."""
    return (
        name.startswith(".#")
        or name.endswith("~")
        or name == "4913"
        or name.endswith((".swp", ".swo", ".swx"))
        or (len(name) > 1 and name.startswith("#") and name.endswith("#"))
    )


def _settled(times: tuple[float, float], now: float) -> bool:
    """Whether events first and last seen at `times` have come to rest (or have waited long enough)."""
    first, last = times
    return now - last >= QUIET_SECONDS or now - first >= MAX_WAIT_SECONDS


class _Collector(FileSystemEventHandler):
    """Runs in watchdog's thread: sorts events into document paths and whole-scan requests, nothing more."""

    def __init__(self, watcher: DocumentWatcher):
        self.watcher = watcher
        root = str(watcher.config.root)
        self.prefix = root.rstrip("/") + "/"
        data_dir = str(watcher.config.data_dir)
        self.data_prefix = data_dir[len(self.prefix) :] + "/" if data_dir.startswith(self.prefix) else None

    def on_any_event(self, event: FileSystemEvent) -> None:
        if event.event_type in IGNORED_KINDS:
            return
        for raw in (event.src_path, getattr(event, "dest_path", "")):
            path = os.fsdecode(raw)
            if not path.startswith(self.prefix):
                continue
            relative = path[len(self.prefix) :]
            parts = relative.split("/")
            if discovery.SKIP_DIRECTORIES.intersection(parts) or (
                self.data_prefix and relative.startswith(self.data_prefix)
            ):
                continue
            if event.is_directory:
                # A directory created, removed or renamed carries files with it that send no events of their own.
                if event.event_type != "modified":
                    self.watcher.request_scan()
            elif parts[-1] == ".gitignore":
                self.watcher.request_scan()
            elif not is_scratch(parts[-1]) and self.watcher.config.matches(relative):
                self.watcher.touched(relative)


def watched_here() -> bool:
    """Whether this host's worker discovers and watches documents: every host does unless CHORUS_DOCUMENT_HOSTS
    names the hosts that do."""
    return not settings.CHORUS_DOCUMENT_HOSTS or settings.CHORUS_HOST_NAME in settings.CHORUS_DOCUMENT_HOSTS


class DocumentWatcher:
    """A worker job (settings.CHORUS_WORKER_JOBS): interval, start(), tick(), stop(). It watches this host's
    checkout unless CHORUS_DOCUMENT_HOSTS names other hosts only."""

    interval = 0.1

    def __init__(self) -> None:
        self.config = discovery.Config.current()
        self._lock = threading.Lock()
        # path -> (first, last) monotonic time of its events since it was last looked at
        self._pending: dict[str, tuple[float, float]] = {}
        # (first, last) time a whole scan was asked for since the last one, if it was
        self._scan_wanted: tuple[float, float] | None = None
        # the first tick scans: whatever changed while Chorus was not running
        self._scanned_at = float("-inf")
        self._observer = None
        self.here = watched_here()

    # called from watchdog's thread

    def touched(self, path: str) -> None:
        now = time.monotonic()
        with self._lock:
            first = self._pending.get(path, (now, now))[0]
            self._pending[path] = (first, now)

    def request_scan(self) -> None:
        now = time.monotonic()
        with self._lock:
            self._scan_wanted = (self._scan_wanted[0] if self._scan_wanted else now, now)

    # the worker's side

    @property
    def watching(self) -> bool:
        return self._observer is not None and self._observer.is_alive()

    def start(self) -> None:
        if not self.here:
            log.info(
                "documents are watched on %s (CHORUS_DOCUMENT_HOSTS), not on %s",
                ", ".join(settings.CHORUS_DOCUMENT_HOSTS),
                settings.CHORUS_HOST_NAME,
            )
            return
        observer = Observer()
        try:
            observer.schedule(_Collector(self), str(self.config.root), recursive=True)
            observer.start()
        except OSError as exc:
            log.error(
                "cannot watch %s for changes (%s); documents are scanned every %.0f s instead",
                self.config.root,
                exc,
                UNWATCHED_SCAN_SECONDS,
            )
            return
        self._observer = observer

    def stop(self) -> None:
        if self._observer is not None:
            self._observer.stop()
            self._observer.join(timeout=5)
            self._observer = None

    def tick(self) -> None:
        if not self.here:
            return
        now = time.monotonic()
        with self._lock:
            wanted = self._scan_wanted
            settled = [path for path, times in self._pending.items() if _settled(times, now)]
            for path in settled:
                del self._pending[path]
        every = PERIODIC_SCAN_SECONDS if self.watching else UNWATCHED_SCAN_SECONDS
        if (wanted is not None and _settled(wanted, now)) or now - self._scanned_at >= every:
            try:
                self._scan(now, wanted)
            except Exception:
                self._again(settled)
                raise
            # The scan looked at every settled path already.
            return
        for index, path in enumerate(settled):
            try:
                services.document_changed_on_disk(path)
            except Exception:
                self._again(settled[index:])
                raise

    def _again(self, paths: list[str]) -> None:
        """After a failure (the worker logs it), look at these paths again on a later tick."""
        for path in paths:
            self.touched(path)

    def _scan(self, now: float, wanted: tuple[float, float] | None) -> None:
        result = services.documents_scan()
        with self._lock:
            # A request that came in during the scan may concern files the scan had already passed.
            if self._scan_wanted == wanted:
                self._scan_wanted = None
        self._scanned_at = now
        if result.added or result.changed or result.removed or result.errors:
            log.info(
                "documents scanned in %.2f s: %s%s",
                result.seconds,
                ", ".join(f"{name} {count}" for name, count in result.counts().items()),
                f"; {len(result.errors)} not recorded: {result.errors[0]}" if result.errors else "",
            )
