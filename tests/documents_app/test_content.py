import pytest
from hypothesis import given
from hypothesis import strategies as st

from documents_app.content import count_lines, decode, inspect, split_lines, title_of


@pytest.mark.parametrize(
    ("text", "lines"),
    [
        ("", []),
        ("one", ["one"]),
        ("one\n", ["one"]),
        ("one\n\n", ["one", ""]),
        ("a\r\nb\r\n", ["a", "b"]),
        ("form\x0cfeed\u2028stays\n", ["form\x0cfeed\u2028stays"]),
    ],
)
def test_lines_end_at_line_feeds_only(text, lines):
    assert split_lines(text) == lines


@given(st.binary(max_size=200))
def test_counting_bytes_agrees_with_splitting_the_text(data):
    assert count_lines(data) == len(split_lines(decode(data)))


def test_a_nul_byte_makes_a_file_binary():
    facts = inspect("a.md", b"# T\n\0")
    assert facts.binary and facts.line_count == 0
    assert not inspect("a.md", b"# T\n").binary


@pytest.mark.parametrize(
    ("path", "text", "title"),
    [
        ("a.md", "intro\n# The Title #\n## Sub\n", "The Title"),
        ("a.md", "Setext Title\n============\n", "Setext Title"),
        ("a.md", "---\ntitle: x\n---\n\nText after front matter\n", "Text after front matter"),
        ("a.md", "```sh\n# not a title\n```\n# Real\n", "Real"),
        ("a.md", "#hashtag\n\n## Only a sub heading\n", "#hashtag"),
        ("a.markdown", "   \n# Spaced\n", "Spaced"),
        ("a.rst", "=======\n Title\n=======\n\nBody\n", "Title"),
        ("a.rst", ".. comment\n\nSection\n-------\n", "Section"),
        ("a.rst", "Short\n--\n", "Short"),
        ("a.txt", "\n\n  first words  \nsecond\n", "first words"),
        ("a.txt", "# not markdown here\n", "# not markdown here"),
        ("empty.md", "", ""),
    ],
)
def test_titles(path, text, title):
    assert title_of(path, text) == title


def test_a_title_is_at_most_200_characters():
    assert len(title_of("a.md", "# " + "x" * 500)) == 200
