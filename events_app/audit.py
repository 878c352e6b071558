"""Audit of the event table itself: the hash chain and per-stream version continuity."""

from __future__ import annotations

import dataclasses

from django.db import connection

from events_app.store import GENESIS_HASH, chain_hash


@dataclasses.dataclass(frozen=True)
class AuditResult:
    checked: int
    problem: str | None = None
    position: int | None = None

    @property
    def ok(self) -> bool:
        return self.problem is None


def verify_events(chunk: int = 5000) -> AuditResult:
    """Walk the table in position order; stop at the first row whose hash, position or version is off.

    An edited row breaks its own hash; a deleted row breaks the next row's chain (and usually a version run);
    an inserted row has no valid hash.
    """
    previous_hash = GENESIS_HASH
    previous_position = 0
    versions: dict[tuple[str, str], int] = {}
    checked = 0
    with connection.cursor() as cursor:
        while True:
            cursor.execute(
                "SELECT position, stream_type, stream_id, version, event_type, schema_version, data, metadata, "
                "CAST(recorded_at AS TEXT), hash FROM chorus_event WHERE position > %s ORDER BY position LIMIT %s",
                [previous_position, chunk],
            )
            rows = cursor.fetchall()
            for row in rows:
                position, stream_type, stream_id, version = row[:4]
                where = f"event #{position} ({row[4]} on {stream_type}:{stream_id} v{version})"
                if position != previous_position + 1:
                    return AuditResult(
                        checked, f"{where}: positions {previous_position + 1}..{position - 1} are missing", position
                    )
                expected_version = versions.get((stream_type, stream_id), 0) + 1
                if version != expected_version:
                    return AuditResult(
                        checked, f"{where}: stream version {version}, expected {expected_version}", position
                    )
                if chain_hash(previous_hash, list(row[:9])) != row[9]:
                    return AuditResult(checked, f"{where}: hash does not match: the row was changed", position)
                versions[(stream_type, stream_id)] = version
                previous_hash, previous_position = row[9], position
                checked += 1
            if len(rows) < chunk:
                return AuditResult(checked)
