"""The claim patterns' rule (tasks_app.claims): spelling, coverage and overlap, checked against brute force."""

import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tasks_app.claims import BadClaim, covers, normalise, normalised, overlap


@pytest.mark.parametrize(
    ("given_pattern", "spelled"),
    [("src/api/", "src/api/**"), ("./src//api", "src/api"), ("src/**", "src/**"), (" a/b.py ", "a/b.py")],
)
def test_a_claim_has_one_spelling(given_pattern, spelled):
    assert normalise(given_pattern) == spelled


@pytest.mark.parametrize(
    ("pattern", "says"),
    [
        ("/etc/passwd", "absolute"),
        ("~/x", "absolute"),
        ("src/../../x", "'..'"),
        ("..", "'..'"),
        ("", "empty"),
        ("./", "names no path"),
        ("a\\b", "backslash"),
        ("x" * 501, "at most 500"),
        (3, "text"),
    ],
)
def test_a_claim_outside_the_root_or_malformed_is_refused_with_why(pattern, says):
    with pytest.raises(BadClaim, match=says):
        normalise(pattern)


def test_claims_are_a_list():
    with pytest.raises(BadClaim, match="list"):
        normalised("src/**")
    assert normalised(["b", "a", "a/"]) == ["a", "a/**", "b"]


@pytest.mark.parametrize(
    ("pattern", "path", "covered"),
    [
        ("src/api", "src/api/views.py", True),
        ("src/api", "src/api", True),
        ("src/api", "src/apis/x.py", False),
        ("src/*.py", "src/a.py", True),
        ("src/*.py", "src/sub/a.py", False),
        ("src/**/*.py", "src/a.py", True),
        ("src/**/*.py", "src/x/y/a.py", True),
        ("src/**", "src", True),
        ("docs/?.md", "docs/ab.md", False),
    ],
)
def test_coverage(pattern, path, covered):
    assert covers(pattern, path) is covered


@pytest.mark.parametrize(
    ("a", "b", "overlapping"),
    [
        ("src/api/**", "src/api/views.py", True),
        ("src/api", "src/api/views.py", True),
        ("src/api/**", "src/web/**", False),
        ("src/*.py", "src/api/x.py", False),
        ("src/*.py", "src/**/x.py", True),
        ("**/*.py", "docs/*.md", False),
        ("**/*.py", "docs/readme", True),  # docs/readme is a directory claim: docs/readme/x.py
        ("src/a*", "src/*b", True),
        ("src/a*c", "src/b*", False),
        ("tests", "tests/**", True),
    ],
)
def test_overlap(a, b, overlapping):
    assert overlap(a, b) is overlapping
    assert overlap(b, a) is overlapping


# Brute force over a tiny world: every path of up to three components over the names below.
NAMES = ["a", "b", "ab", "a.py", "b.py"]
PATHS = ["/".join(p) for n in range(1, 4) for p in itertools.product(NAMES, repeat=n)]
COMPONENT = st.sampled_from(["a", "b", "ab", "a.py", "*", "*.py", "a*", "?", "[ab]", "**"])
PATTERN = st.lists(COMPONENT, min_size=1, max_size=3).map("/".join).filter(lambda p: p != "**")


@settings(max_examples=150, deadline=None)
@given(a=PATTERN, b=PATTERN)
def test_patterns_sharing_a_path_always_overlap(a, b):
    shared = [path for path in PATHS if covers(a, path) and covers(b, path)]
    if shared:
        assert overlap(a, b), f"{a} and {b} both cover {shared[0]}"
    assert overlap(a, b) == overlap(b, a)
