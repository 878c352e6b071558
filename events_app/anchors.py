"""Signed anchors of the event log, kept outside the database (issue 15; design.md 6).

The sha256 chain shows a row changed by hand, but anyone who can write the database can re-hash every row after
an edit, or cut the tail and lower the checkpoints. So after each commit that appended, the appending process
writes the log's head (position, hash) with an HMAC by a key of the data directory to the anchor file (written
beside it, then renamed over it), and verify_events checks that the anchored position still has the anchored hash
and that the log does not end before it. An anchor moves only forward along the same log: when the log no longer
holds the anchor, it is left as it is (the evidence) and the error is logged.

Writing a file and renaming it costs more than an SQLite commit on some disks (ext4 flushes a file renamed over
another), so the commits of one process within `Anchorer.delay` of each other share one write, made by a timer
thread, and whatever is pending is written when the process exits: the anchor trails the log by at most that delay.

The key (`anchor_key` beside the anchor file, mode 0600) is made with the first anchor, so a key without an anchor
file means the anchor was deleted; neither means the log was never anchored (a log from before anchors).
"""

from __future__ import annotations

import atexit
import dataclasses
import functools
import hashlib
import hmac
import json
import logging
import os
import secrets
import threading
from pathlib import Path

from django.conf import settings
from django.db import connections

from events_app.recorders import Recorder
from events_app.store import Appended

log = logging.getLogger(__name__)


class AnchorError(Exception):
    """The anchor cannot be trusted: unreadable, damaged, not signed by the key, or deleted; the message says which."""


@dataclasses.dataclass(frozen=True)
class Anchor:
    position: int
    hash: str


def anchor_file() -> Path | None:
    """Where the anchor is kept (CHORUS_ANCHOR_FILE); None: the log is not anchored."""
    path = settings.CHORUS_ANCHOR_FILE
    return None if path is None else Path(path)


def key_file(anchor: Path) -> Path:
    return anchor.with_name(f"{anchor.name}_key")


def read_anchor(path: Path) -> Anchor | None:
    """The anchor in `path`, checked against its key; None when the log was never anchored."""
    key = _key(key_file(path), create=False)
    try:
        text = path.read_text()
    except FileNotFoundError:
        if key is None:
            return None
        raise AnchorError(f"the anchor file {path} is missing but its key is there: it was deleted") from None
    except OSError as exc:
        raise AnchorError(f"the anchor file {path} cannot be read: {exc.strerror}") from None
    if key is None:
        raise AnchorError(f"the anchor file {path} is there but its key {key_file(path)} is not")
    try:
        fields = json.loads(text)
        anchor, mac = Anchor(int(fields["position"]), str(fields["hash"])), str(fields["mac"])
    except (ValueError, KeyError, TypeError):
        raise AnchorError(f"the anchor file {path} is damaged") from None
    if not hmac.compare_digest(mac, _sign(key, anchor)):
        raise AnchorError(f"the anchor file {path} is not signed by its key: it was forged, or the key replaced")
    return anchor


def anchor_after_commit(appended: Appended) -> None:
    """An on_append hook: once the transaction of this append commits, anchor the head it left. Registered through
    the connection's on_commit, so an append rolled back (or its savepoint) anchors nothing."""
    path = anchor_file()
    if path is None:
        return
    head = Anchor(appended.events[-1].position, appended.tail)
    appended.recorder.db.on_commit(functools.partial(anchorer.committed, path, appended.recorder, head))


class Anchorer:
    """The anchor writes of one process: the latest committed head per anchor file, written `delay` seconds after
    the first commit that made it pending (by a timer thread) or at `flush()`."""

    def __init__(self, delay: float = 0.05):
        self.delay = delay
        self._pending: dict[Path, tuple[Recorder, Anchor]] = {}
        self._timer: threading.Timer | None = None
        self._lock = threading.Lock()
        # One check-and-write at a time in this process; other processes replace the file atomically.
        self._writing = threading.Lock()
        # What this process last read or wrote in each anchor file, with the file's stamp: read again only when
        # another process has replaced the file.
        self._known: dict[Path, tuple[tuple[int, int, int], Anchor | None]] = {}
        self._refused: set[tuple[Path, Anchor | None]] = set()

    def committed(self, path: Path, recorder: Recorder, head: Anchor) -> None:
        with self._lock:
            pending = self._pending.get(path)
            if pending is None or head.position > pending[1].position:
                self._pending[path] = (recorder, head)
            if self._timer is None:
                self._timer = threading.Timer(self.delay, self._flush_later)
                self._timer.daemon = True
                self._timer.start()

    def flush(self) -> None:
        """Write every pending anchor now."""
        with self._lock:
            if self._timer is not None:
                self._timer.cancel()
                self._timer = None
            pending, self._pending = self._pending, {}
        with self._writing:
            for path, (recorder, head) in pending.items():
                self._anchor(path, recorder, head)

    def _flush_later(self) -> None:
        try:
            self.flush()
        finally:
            connections.close_all()  # this thread's own connections

    def _anchor(self, path: Path, recorder: Recorder, head: Anchor) -> None:
        """Move the anchor forward to `head` if the log still holds the anchor there now."""
        try:
            current = self._current(path)
        except AnchorError as exc:
            self._refuse(path, None, str(exc))
            return
        if current is not None:
            if _hash_at(recorder, current.position) != current.hash:
                self._refuse(path, current, f"the log no longer holds event #{current.position} as it was anchored")
                return
            if current.position >= head.position:
                return  # another process anchored a later head meanwhile
        try:
            self._write(path, head)
        except (OSError, AnchorError) as exc:
            log.error("the event log's anchor %s could not be written: %s", path, exc)

    def _current(self, path: Path) -> Anchor | None:
        known = self._known.get(path)
        if known is not None and known[0] == _stamp(path):
            return known[1]
        anchor = read_anchor(path)
        self._known[path] = (_stamp(path), anchor)
        return anchor

    def _refuse(self, path: Path, anchor: Anchor | None, why: str) -> None:
        """Leave the anchor as it is, the evidence for verify_events; say so once per anchor, not at every write."""
        if (path, anchor) not in self._refused:
            self._refused.add((path, anchor))
            log.error("the event log's anchor %s is kept as it is: %s (run verify_events)", path, why)

    def _write(self, path: Path, anchor: Anchor) -> None:
        key = _key(key_file(path), create=True)
        fields = {"position": anchor.position, "hash": anchor.hash, "mac": _sign(key, anchor)}
        partial = path.with_name(f".{path.name}.{secrets.token_hex(4)}")
        fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
        try:
            with os.fdopen(fd, "w") as handle:
                handle.write(json.dumps(fields) + "\n")
            os.replace(partial, path)
        except BaseException:
            partial.unlink(missing_ok=True)
            raise
        self._known[path] = (_stamp(path), anchor)


anchorer = Anchorer()
atexit.register(anchorer.flush)


def _stamp(path: Path) -> tuple[int, int, int]:
    try:
        info = os.stat(path)
    except FileNotFoundError:
        return (0, 0, 0)
    return (info.st_ino, info.st_mtime_ns, info.st_size)


def _hash_at(recorder: Recorder, position: int) -> str | None:
    rows = recorder.hashed_rows(position - 1, 1)
    return rows[0][9] if rows and rows[0][0] == position else None


def _key(path: Path, *, create: bool) -> bytes | None:
    """The anchor key in `path`, made (mode 0600) when `create` and there is none; None when there is none."""
    if create:
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
        except FileExistsError:
            pass
        else:
            with os.fdopen(fd, "w") as handle:
                handle.write(secrets.token_hex(32) + "\n")
    try:
        return path.read_text().strip().encode() or None
    except FileNotFoundError:
        return None


def _sign(key: bytes | None, anchor: Anchor) -> str:
    if key is None:
        raise AnchorError("the anchor key is empty")
    return hmac.new(key, f"chorus event log {anchor.position} {anchor.hash}".encode(), hashlib.sha256).hexdigest()
