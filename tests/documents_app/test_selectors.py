import hashlib

import pytest

from documents_app import discovery, reading, selectors, services
from documents_app.errors import DocumentError, DocumentNotFound

pytestmark = pytest.mark.django_db


@pytest.fixture
def recorded(project):
    project.write("doc.md", "# One\ntwo\nthree\nfour\n")
    project.write("empty.txt", "")
    project.write("sub/inner.md", "inner\n")
    services.documents_scan()
    return project


@pytest.fixture
def no_reads(monkeypatch):
    """Fails the test if anything is read from disk."""

    def refuse(absolute, max_bytes):
        raise AssertionError(f"{absolute} was read")

    monkeypatch.setattr(discovery, "read", refuse)


def test_whole_documents_and_ranges(recorded):
    assert selectors.document_lines("doc.md") == ["# One", "two", "three", "four"]
    assert selectors.document_lines("doc.md", 2, 3) == ["two", "three"]
    assert selectors.document_lines("doc.md", start=3) == ["three", "four"]
    assert selectors.document_lines("doc.md", end=1) == ["# One"]
    assert selectors.document_lines("sub/../doc.md", 4, 4) == ["four"]
    assert selectors.document_lines("empty.txt") == []
    excerpt = selectors.document_excerpt("doc.md", 2, 3)
    assert [(line.number, line.text) for line in excerpt.lines] == [(2, "two"), (3, "three")]
    assert (excerpt.start, excerpt.end, excerpt.line_count, excerpt.stale) == (2, 3, 4, False)
    assert excerpt.text == "two\nthree\n"


def test_the_file_as_it_is_now_is_read_and_a_difference_is_flagged(recorded):
    recorded.write("doc.md", "# One\nnew two\n")
    excerpt = selectors.document_excerpt("doc.md")
    assert [line.text for line in excerpt.lines] == ["# One", "new two"]
    assert (excerpt.line_count, excerpt.document.line_count, excerpt.stale) == (2, 4, True)


@pytest.mark.parametrize(
    ("start", "end", "message"),
    [
        (0, 2, "line numbers start at 1"),
        (2, 0, "line numbers start at 1"),
        (3, 2, "lines 3-2: the range ends before it starts"),
        (4, 5, "lines 4-5 are outside doc.md, which has 4 lines"),
        (5, None, "line 5 is outside doc.md, which has 4 lines"),
        (None, 9, "line 9 is outside doc.md, which has 4 lines"),
    ],
)
def test_a_range_outside_the_file_is_a_clear_error(recorded, start, end, message):
    with pytest.raises(DocumentError, match=message) as raised:
        selectors.document_lines("doc.md", start, end)
    # Bad numbers are bad input; lines the file does not have now are a conflict with the file as it is.
    assert raised.value.status == (409 if "outside" in message else 400)


@pytest.mark.parametrize(
    "path", ["../../etc/passwd", "/etc/passwd", "sub/../../outside.md", "..", ".", "", "nope.md", "code.py", "a\0b"]
)
def test_paths_that_are_not_recorded_documents_inside_the_root_are_not_found_without_a_read(recorded, no_reads, path):
    recorded.write("code.py", "x\n")
    with pytest.raises(DocumentNotFound) as raised:
        selectors.document_lines(path)
    assert raised.value.status == 404


def test_a_symbolic_link_out_of_the_root_is_never_a_document(recorded, tmp_path):
    secret = tmp_path / "secret.md"
    secret.write_text("secret\n")
    (recorded.root / "escape.md").symlink_to(secret)
    (recorded.root / "linked").symlink_to(tmp_path, target_is_directory=True)
    services.documents_scan()
    for path in ("escape.md", "linked/secret.md"):
        with pytest.raises(DocumentNotFound):
            selectors.document_lines(path)


def test_a_document_replaced_by_a_symbolic_link_is_not_read(recorded, tmp_path, no_reads):
    secret = tmp_path / "secret.md"
    secret.write_text("secret\n")
    (recorded.root / "doc.md").unlink()
    (recorded.root / "doc.md").symlink_to(secret)
    with pytest.raises(DocumentNotFound, match="now a symbolic link"):
        selectors.document_lines("doc.md")


def test_a_document_deleted_since_the_last_scan_is_not_found(recorded):
    (recorded.root / "doc.md").unlink()
    with pytest.raises(DocumentNotFound, match="was deleted"):
        selectors.document_lines("doc.md")


def test_listing_and_one_document(recorded):
    assert [d.path for d in selectors.documents()] == ["doc.md", "empty.txt", "sub/inner.md"]
    assert selectors.document("./doc.md").title == "One"


def test_the_whole_text_as_the_file_holds_it_now(recorded):
    assert selectors.document_text("doc.md") == "# One\ntwo\nthree\nfour\n"
    with pytest.raises(DocumentNotFound):
        selectors.document_text("nope.md")


def sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def test_current_lines_only_while_the_file_holds_the_content_of_that_hash(recorded):
    now = "# One\ntwo\nthree\nfour\n"
    assert selectors.document_current_lines("doc.md", sha(now)) == ["# One", "two", "three", "four"]
    recorded.write("doc.md", "changed again\n")
    assert selectors.document_current_lines("doc.md", sha(now)) is None, "a later event will bring the new text"
    (recorded.root / "doc.md").unlink()
    assert selectors.document_current_lines("doc.md", sha("changed again\n")) is None
    assert selectors.document_current_lines("nope.md", sha(now)) is None


def test_current_lines_come_from_what_the_scanner_has_just_read_without_reading_again(recorded, no_reads):
    with reading.just_read("doc.md", sha("just\nread\n"), b"just\nread\n"):
        assert selectors.document_current_lines("doc.md", sha("just\nread\n")) == ["just", "read"]
        with pytest.raises(AssertionError, match="was read"):
            selectors.document_current_lines("sub/inner.md", sha("inner\n"))
    with pytest.raises(AssertionError, match="was read"):
        selectors.document_current_lines("doc.md", sha("just\nread\n"))
