"""Where a reference's text is in a document now: pure functions over lines, shared by the services that add,
check, refresh and re-anchor references. A range's text is its lines joined by "\\n"."""

from __future__ import annotations

import dataclasses
import difflib
import hashlib

INTACT, MOVED, CHANGED = "intact", "moved", "changed"


def range_text(lines: list[str], start: int, end: int) -> str:
    return "\n".join(lines[start - 1 : end])


def digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8", errors="surrogatepass")).hexdigest()


class OutsideText(ValueError):
    """A well-formed range that the document's text, as it is now, cannot give."""


def check_range(path: str, lines: list[str], start: int, end: int) -> str:
    """The text of lines `start`..`end` (1-based, inclusive), or ValueError saying what is wrong with the range."""
    if isinstance(start, bool) or isinstance(end, bool) or not isinstance(start, int) or not isinstance(end, int):
        raise ValueError("a line range needs whole numbers")
    if start < 1:
        raise ValueError(f"line numbers start at 1, not {start}")
    if end < start:
        raise ValueError(f"range {start}-{end} is reversed: it ends before it starts")
    if end > len(lines):
        raise OutsideText(f"{path} has {len(lines)} lines, so {start}-{end} is outside it")
    text = range_text(lines, start, end)
    if not text.strip():
        raise OutsideText(f"lines {start}-{end} of {path} are empty: there is nothing to refer to")
    return text


@dataclasses.dataclass(frozen=True)
class Location:
    kind: str  # INTACT (same lines), MOVED (found at other lines) or CHANGED (not found; start..end: best guess)
    start: int
    end: int
    text: str


def locate(snapshot: str, lines: list[str], start: int) -> Location:
    """Where the snapshot's exact lines are in `lines`: at `start` if still there, else the occurrence nearest to
    it (the earlier one on a tie). When they are nowhere, the range that most likely holds their edited text."""
    wanted = snapshot.split("\n")
    size = len(wanted)
    first = wanted[0]
    best: int | None = None
    for index, line in enumerate(lines):
        if line == first and lines[index : index + size] == wanted:
            if best is None or abs(index + 1 - start) < abs(best + 1 - start):
                best = index
            if index + 1 >= start:
                # Occurrences further down are further away than this one.
                break
    if best is not None:
        return Location(INTACT if best + 1 == start else MOVED, best + 1, best + size, snapshot)
    guess_start, guess_end = _likely_range(wanted, lines, start)
    return Location(CHANGED, guess_start, guess_end, range_text(lines, guess_start, guess_end))


def _likely_range(wanted: list[str], lines: list[str], start: int) -> tuple[int, int]:
    """Where edited text most likely is: aligned on the longest run of the snapshot's non-blank lines still in the
    document, stretched to the first and last of its lines matched near there; failing that, aligned on the nearest
    line alike to one of its first non-blank lines; failing that, the old range, cut to the document's end."""
    size = len(wanted)

    def blank(line: str) -> bool:
        return not line.strip()

    matcher = difflib.SequenceMatcher(blank, lines, wanted, autojunk=False)
    anchor = matcher.find_longest_match(0, len(lines), 0, size)
    if anchor.size == 0:
        similar = _most_similar(wanted, lines, start)
        if similar is None:
            end = min(start + size - 1, len(lines))
            return min(start, max(end, 1)), end
        first = max(0, similar)
        return first + 1, max(first + 1, min(len(lines), similar + size))
    low = max(0, anchor.a - anchor.b - size)
    high = min(len(lines), anchor.a - anchor.b + 2 * size)
    nearby = difflib.SequenceMatcher(blank, lines[low:high], wanted, autojunk=False)
    blocks = [block for block in nearby.get_matching_blocks() if block.size]
    head, tail = blocks[0], blocks[-1]
    guess_start = max(1, low + head.a - head.b + 1)
    guess_end = min(len(lines), low + tail.a + tail.size + (size - tail.b - tail.size))
    return guess_start, max(guess_start, guess_end)


# How alike an edited line must be to its old self (difflib's ratio); how many of the snapshot's lines are compared,
# and with the document's lines how far around the old place: enough to find a reworded line near where it was,
# cheap enough for the document's transaction whatever the document's length.
SIMILAR = 0.6
SIMILAR_PROBES = 2
SIMILAR_WINDOW = 200


def _most_similar(wanted: list[str], lines: list[str], start: int) -> int | None:
    """The 0-based index where the snapshot would begin if aligned on a document line alike enough to one of its
    first non-blank lines: the nearest such line to the old place (text is most often edited where it stands),
    the most alike among equally near ones; None when no line within SIMILAR_WINDOW lines is alike enough."""
    best: tuple[int, float, int] | None = None  # (distance from the old start, -ratio, aligned start)
    probes = [(index, line) for index, line in enumerate(wanted) if line.strip()][:SIMILAR_PROBES]
    matcher = difflib.SequenceMatcher(autojunk=False)
    for offset, probe in probes:
        matcher.set_seq2(probe)
        around = start - 1 + offset
        low, high = max(0, around - SIMILAR_WINDOW), min(len(lines), around + SIMILAR_WINDOW + 1)
        for index in range(low, high):
            matcher.set_seq1(lines[index])
            if matcher.real_quick_ratio() < SIMILAR or matcher.quick_ratio() < SIMILAR:
                continue
            ratio = matcher.ratio()
            if ratio >= SIMILAR:
                candidate = (abs(index - offset + 1 - start), -ratio, index - offset)
                best = candidate if best is None else min(best, candidate)
    return None if best is None else best[2]


def unified_diff(path: str, snapshot: str, current: str, start: int, end: int) -> str:
    """The snapshot against the text now at `start`..`end`, as a unified diff."""
    return "\n".join(
        difflib.unified_diff(
            snapshot.split("\n"),
            current.split("\n") if current else [],
            fromfile=f"{path} (snapshot)",
            tofile=f"{path}:{start}-{end} (now)",
            lineterm="",
        )
    )
