"""Audit of the event table itself: the hash chain, gapless positions and per-stream versions, the log's end
against the projector checkpoints, and the log against its signed anchor, kept outside the database
(events_app.anchors)."""

from __future__ import annotations

import dataclasses

from events_app import anchors, store
from events_app.projection import TRACKING
from events_app.store import GENESIS_HASH, chain_hash


@dataclasses.dataclass(frozen=True)
class AuditResult:
    checked: int
    problem: str | None = None
    position: int | None = None
    # The position of the signed anchor the log was found to hold (None: not anchored).
    anchored: int | None = None

    @property
    def ok(self) -> bool:
        return self.problem is None


def _where(row: tuple) -> str:
    """How a problem names its row (made only for the row that has one: the walk is per event)."""
    return f"event #{row[0]} ({row[4]} on {row[1]}:{row[2]} v{row[3]})"


def verify_events(chunk: int = 5000) -> AuditResult:
    """Walk the table in position order; stop at the first row whose hash, position or version is off.

    An edited row breaks its own hash (or, with its hash forged too, the next row's); a deleted row leaves a gap
    in the positions; an inserted row has no valid hash. Events deleted from the end leave no gap, but the
    projectors' checkpoints still point past the new end. A log re-hashed after an edit, or cut with its
    checkpoints lowered, no longer holds its signed anchor: the anchored position has another hash, or is gone.
    """
    path = anchors.anchor_file()
    try:
        # Read before the walk: the event it names was committed before it was written, so the walk will see it.
        anchor = anchors.read_anchor(path) if path is not None else None
    except anchors.AnchorError as exc:
        anchor, untrusted = None, str(exc)
    else:
        untrusted = None
    anchored_hash = None
    previous_hash = GENESIS_HASH
    previous_position = 0
    versions: dict[tuple[str, str], int] = {}
    checked = 0
    recorder = store.recorder()
    while True:
        rows = recorder.hashed_rows(previous_position, chunk)
        for row in rows:
            position, stream_type, stream_id, version = row[:4]
            if position != previous_position + 1:
                where = _where(row)
                missing = (
                    f"#{previous_position + 1}"
                    if position == previous_position + 2
                    else f"#{previous_position + 1}..#{position - 1}"
                )
                return AuditResult(checked, f"{where}: the events before it ({missing}) are missing", position)
            expected_version = versions.get((stream_type, stream_id), 0) + 1
            if version != expected_version:
                return AuditResult(
                    checked, f"{_where(row)}: stream version {version}, expected {expected_version}", position
                )
            if chain_hash(previous_hash, row[:9]) != row[9]:
                return AuditResult(
                    checked, f"{_where(row)}: hash does not match: the row was changed or written by hand", position
                )
            versions[(stream_type, stream_id)] = version
            previous_hash, previous_position = row[9], position
            if anchor is not None and position == anchor.position:
                anchored_hash = row[9]
            checked += 1
        if len(rows) < chunk:
            break
    ahead = recorder.max_checkpoint_after(TRACKING, previous_position)
    if ahead is not None:
        name, position = ahead
        return AuditResult(
            checked,
            f"event #{previous_position + 1}: missing; the log ends at #{previous_position} but projection {name} "
            f"has applied events up to #{position}, so the last events were deleted",
            previous_position + 1,
        )
    if untrusted is not None:
        return AuditResult(checked, untrusted)
    if anchor is None:
        return AuditResult(checked)
    if anchor.position > previous_position:
        return AuditResult(
            checked,
            f"event #{previous_position + 1}: missing; the log ends at #{previous_position} but its signed anchor "
            f"({path}) holds event #{anchor.position}, so the last events were cut",
            previous_position + 1,
        )
    if anchored_hash != anchor.hash:
        return AuditResult(
            checked,
            f"event #{anchor.position}: not the event its signed anchor ({path}) holds: its hash is "
            f"{anchored_hash[:16]}…, anchored as {anchor.hash[:16]}…, so the log was rewritten up to here, "
            "hashes included",
            anchor.position,
        )
    return AuditResult(checked, anchored=anchor.position)
