"""File stamps that prove nothing changed, or not: the kernel stamps files with a coarse clock (a few ms), so two
writes close together can leave the same mtime, and a stamp that recent is looked behind again."""

from __future__ import annotations

import time

TRUSTED_AFTER_NS = 1_000_000_000


def recently(stamp_ns: int) -> bool:
    """Whether a file time is too recent to prove that nothing changed since."""
    return time.time_ns() - stamp_ns < TRUSTED_AFTER_NS
