"""Path claims as globs: what a claim pattern may be, which paths it covers, and whether two patterns can cover a
common path. Pure: no database, no file system.

A claim is a glob relative to PROJECT_ROOT, in `/`-separated components: `*`, `?` and `[...]` match within one
component, and a component `**` matches any number of components (none included). A pattern without a wildcard
names a file or a directory and covers it and everything beneath it; a trailing `/` means the same as `/**`.
"""

from __future__ import annotations

import fnmatch
import functools
import re

GLOB_MAX = 500
CLAIMS_MAX = 50
WILDCARD = re.compile(r"[*?\[]")
ANY = "**"


class BadClaim(ValueError):
    """A pattern that cannot be a claim; the message says why."""


def normalise(pattern: object) -> str:
    """The claim pattern in its one spelling (no `./`, no doubled or trailing `/`: a trailing `/` becomes `/**`);
    BadClaim for an absolute pattern, a `..` component, or one that is empty or too long."""
    if not isinstance(pattern, str):
        raise BadClaim("a claim is a path pattern (text)")
    text = pattern.strip()
    if not text or "\x00" in text or "\n" in text:
        raise BadClaim(f"claim {pattern!r} is empty or not one line")
    if len(text) > GLOB_MAX:
        raise BadClaim(f"a claim has at most {GLOB_MAX} characters")
    if text.startswith(("/", "~")) or re.match(r"^[A-Za-z]:[\\/]", text):
        raise BadClaim(f"claim {text!r} is absolute: give a path relative to the project's root")
    if "\\" in text:
        raise BadClaim(f"claim {text!r} has a backslash: separate directories with /")
    components = [part for part in text.split("/") if part not in ("", ".")]
    if ".." in components:
        raise BadClaim(f"claim {text!r} has a '..' component: a claim stays inside the project's root")
    if not components:
        raise BadClaim(f"claim {text!r} names no path (the whole project would be '**')")
    if text.endswith("/") and components[-1] != ANY:
        components.append(ANY)
    return "/".join(components)


def normalised(patterns: object) -> list[str]:
    """Several patterns, each normalised, duplicates dropped, in sorted order."""
    if isinstance(patterns, str) or not isinstance(patterns, list | tuple | set | frozenset):
        raise BadClaim("claims are a list of path patterns")
    found = sorted({normalise(pattern) for pattern in patterns})
    if len(found) > CLAIMS_MAX:
        raise BadClaim(f"at most {CLAIMS_MAX} claims at once")
    return found


def _components(pattern: str) -> tuple[str, ...]:
    """The pattern's components; a pattern without a wildcard also covers everything beneath it."""
    parts = tuple(pattern.split("/"))
    return parts if WILDCARD.search(pattern) else (*parts, ANY)


def covers(pattern: str, path: str) -> bool:
    """Whether the (normalised) claim pattern covers the relative path."""
    return _match(_components(pattern), tuple(part for part in path.split("/") if part))


@functools.lru_cache(maxsize=4096)
def _match(pattern: tuple[str, ...], path: tuple[str, ...]) -> bool:
    if not pattern:
        return not path
    head, rest = pattern[0], pattern[1:]
    if head == ANY:
        return any(_match(rest, path[i:]) for i in range(len(path) + 1))
    return bool(path) and fnmatch.fnmatchcase(path[0], head) and _match(rest, path[1:])


def _literal_ends(component: str) -> tuple[str, str]:
    """The literal text before the first wildcard and after the last one (a bracket's `]` included)."""
    first = WILDCARD.search(component)
    prefix = component[: first.start()] if first else component
    last = max(component.rfind("*"), component.rfind("?"), component.rfind("]"))
    return prefix, component[last + 1 :]


def _components_overlap(a: str, b: str) -> bool:
    """Whether two one-component patterns may match a common name: exact when either is literal, else the
    literal ends must agree (conservative: a `True` may be a pattern pair that shares no name)."""
    a_wild, b_wild = bool(WILDCARD.search(a)), bool(WILDCARD.search(b))
    if not a_wild and not b_wild:
        return a == b
    if not a_wild:
        return fnmatch.fnmatchcase(a, b)
    if not b_wild:
        return fnmatch.fnmatchcase(b, a)
    (a_start, a_end), (b_start, b_end) = _literal_ends(a), _literal_ends(b)
    return (a_start.startswith(b_start) or b_start.startswith(a_start)) and (
        a_end.endswith(b_end) or b_end.endswith(a_end)
    )


def overlap(a: str, b: str) -> bool:
    """Whether two (normalised) claim patterns may cover a common path. Sound: patterns that share a path always
    overlap. Conservative only inside a component where both have wildcards (`a*b` and `ab*` overlap, by their
    literal ends)."""
    return _overlap(_components(a), _components(b))


@functools.lru_cache(maxsize=4096)
def _overlap(a: tuple[str, ...], b: tuple[str, ...]) -> bool:
    # The product of the two patterns read component by component: a `**` may match nothing (skip it) or one
    # more component of the other (stay); two plain components must both match that component.
    if not a and not b:
        return True
    if a and a[0] == ANY and (_overlap(a[1:], b) or (b and _overlap(a, b[1:]))):
        return True
    if b and b[0] == ANY and (_overlap(a, b[1:]) or (a and _overlap(a[1:], b))):
        return True
    if not a or not b or ANY in (a[0], b[0]):
        return False
    return _components_overlap(a[0], b[0]) and _overlap(a[1:], b[1:])
