import hashlib
import os
import time

import pytest

from documents_app import discovery, services
from documents_app.errors import DocumentNotFound
from documents_app.models import Document, ScannedFile
from events_app import projection, store

pytestmark = pytest.mark.django_db


def sha(data: str | bytes) -> str:
    return hashlib.sha256(data.encode() if isinstance(data, str) else data).hexdigest()


def events():
    return [(e.stream_id, e.event) for e in store.read(stream_type="document")]


@pytest.fixture
def reads(monkeypatch):
    """The paths discovery.read is asked for."""
    seen = []
    original = discovery.read

    def counting(absolute, max_bytes):
        seen.append(absolute)
        return original(absolute, max_bytes)

    monkeypatch.setattr(discovery, "read", counting)
    return seen


def test_a_scan_records_each_document_with_its_facts(project):
    project.write("README.md", "# Chorus\n\ntext\n")
    project.write("docs/guide.rst", "Guide\n=====\n")
    project.write("notes.txt", "first\nsecond")
    project.write("code.py", "print()\n")
    result = services.documents_scan()
    assert result.counts() == {"added": 3, "changed": 0, "removed": 0, "unchanged": 0, "skipped": 0}
    assert [path for path, _ in events()] == ["README.md", "docs/guide.rst", "notes.txt"]
    readme = Document.objects.get(pk="README.md")
    assert (readme.title, readme.line_count, readme.size, readme.sha256) == ("Chorus", 3, 15, sha("# Chorus\n\ntext\n"))
    assert (readme.kind, Document.objects.get(pk="docs/guide.rst").kind) == ("markdown", "restructuredtext")
    assert Document.objects.get(pk="notes.txt").line_count == 2


def test_an_unchanged_rescan_reads_nothing_and_records_nothing(project, reads):
    for index in range(20):
        project.write(f"d{index}.md", f"# {index}\n")
    services.documents_scan()
    assert len(reads) == 20
    position = store.last_position()
    reads.clear()
    result = services.documents_scan()
    assert result.counts() == {"added": 0, "changed": 0, "removed": 0, "unchanged": 20, "skipped": 0}
    assert reads == []
    assert store.last_position() == position


def test_a_touched_file_is_read_once_and_records_nothing(project, reads):
    path = project.write("a.md", "same\n")
    services.documents_scan()
    os.utime(path, (path.stat().st_atime, path.stat().st_mtime - 100))
    reads.clear()
    assert services.documents_scan().unchanged == 1
    assert reads == [str(path)]
    assert len(events()) == 1


def test_a_change_is_recorded_with_both_hashes_and_its_reactions_get_the_text_the_scan_read(project, reactions, reads):
    path = project.write("a.md", "one\n")
    services.documents_scan()
    project.write("a.md", "one\ntwo\nthree\n")
    reads.clear()
    result = services.documents_scan()
    assert (result.changed, result.unchanged) == (1, 0)
    changed = events()[-1][1]
    assert (changed.old_sha256, changed.new_sha256) == (sha("one\n"), sha("one\ntwo\nthree\n"))
    assert (changed.old_line_count, changed.new_line_count, changed.title, changed.size) == (1, 3, "one", 14)
    assert reactions.seen[-1] == ("a.md", "DocumentChanged", ["one", "two", "three"])
    assert reads == [str(path)], "the reaction got the bytes the scan had just read"
    assert Document.objects.get(pk="a.md").line_count == 3


def test_same_size_and_mtime_with_other_bytes_is_still_seen_when_the_file_was_replaced(project):
    path = project.write("a.md", "aaaa\n")
    services.documents_scan()
    stamp = path.stat().st_mtime_ns
    replacement = project.write("new.tmp", "bbbb\n")
    os.replace(replacement, path)
    os.utime(path, ns=(stamp, stamp))
    assert services.documents_scan().changed == 1


def test_a_file_too_fresh_to_vouch_for_is_not_remembered(project, monkeypatch):
    older = project.write("older.md", "x\n").stat().st_ctime_ns
    time.sleep(0.4)
    fresh = project.write("fresh.md", "y\n").stat().st_ctime_ns
    # A window ending half-way between the two writes: one file is older than it, the other is not.
    monkeypatch.setattr(services, "RACY_NS", time.time_ns() - (older + fresh) // 2)
    services.documents_scan()
    assert list(ScannedFile.objects.values_list("path", flat=True)) == ["older.md"]


def test_deleted_ignored_binary_and_huge_documents_are_removed_with_the_reason(project, settings, reactions):
    for name in ("deleted.md", "ignored.md", "binary.md", "huge.md", "kept.md"):
        project.write(name, f"{name}\n")
    services.documents_scan()
    reactions.seen.clear()
    (project.root / "deleted.md").unlink()
    project.write(".gitignore", "ignored.md\n")
    project.write("binary.md", b"\0\1\2")
    settings.CHORUS_DOCUMENT_MAX_BYTES = 50
    project.write("huge.md", "x" * 51)
    result = services.documents_scan()
    assert (result.removed, result.unchanged, result.skipped) == (4, 1, 2)
    reasons = {path: e.reason for path, e in events() if type(e).__name__ == "DocumentRemoved"}
    assert reasons == {
        "binary.md": "binary (it contains a NUL byte)",
        "deleted.md": "the file was deleted",
        "huge.md": "larger than CHORUS_DOCUMENT_MAX_BYTES (51 > 50 bytes)",
        "ignored.md": "it is ignored by .gitignore",
    }
    assert {(n.path, n.reason) for n in result.skipped_files} == {
        ("binary.md", reasons["binary.md"]),
        ("huge.md", reasons["huge.md"]),
    }
    assert sorted(reactions.seen) == [(path, "DocumentRemoved", None) for path in sorted(reasons)]
    assert list(Document.objects.values_list("path", flat=True)) == ["kept.md"]
    again = services.documents_scan()
    assert (again.removed, again.skipped) == (0, 2)


def test_a_huge_file_is_skipped_without_being_read(project, settings, reads):
    settings.CHORUS_DOCUMENT_MAX_BYTES = 10
    project.write("huge.md", "x" * 11)
    result = services.documents_scan()
    assert (result.added, result.skipped, reads) == (0, 1, [])


def test_a_document_that_comes_back_is_added_and_its_reactions_get_its_text(project, reactions):
    project.write("a.md", "first\n")
    services.documents_scan()
    (project.root / "a.md").unlink()
    services.documents_scan()
    project.write("a.md", "second\n")
    assert services.documents_scan().added == 1
    assert [type(e).__name__ for _, e in events()] == ["DocumentAdded", "DocumentRemoved", "DocumentAdded"]
    assert reactions.seen[-1] == ("a.md", "DocumentAdded", ["second"])
    assert Document.objects.get(pk="a.md").version == 3


def test_a_failing_reaction_rolls_back_its_document_only_and_the_next_scan_tries_again(project, reactions):
    project.write("a.md", "a\n")
    project.write("b.md", "b\n")
    services.documents_scan()
    project.write("a.md", "a2\n")
    project.write("b.md", "b2\n")
    reactions.refused.add("a.md")
    result = services.documents_scan()
    assert (result.changed, result.errors) == (1, ["a.md: changed not recorded: the reaction is broken"])
    assert Document.objects.get(pk="a.md").sha256 == sha("a\n")
    assert Document.objects.get(pk="b.md").sha256 == sha("b2\n")
    assert [type(e).__name__ for path, e in events() if path == "a.md"] == ["DocumentAdded"]
    reactions.refused.clear()
    assert services.documents_scan().changed == 1
    assert Document.objects.get(pk="a.md").sha256 == sha("a2\n")
    assert reactions.seen[-1] == ("a.md", "DocumentChanged", ["a2"])


def test_a_scans_batch_is_one_append_whose_reactions_get_each_changed_documents_text_without_reading_it_again(
    project, reactions, reads
):
    names = ("a.md", "b.md", "c.md")
    for name in names:
        project.write(name, f"{name} first\n")
    services.documents_scan()
    for name in names:
        project.write(name, f"{name} second\n")
    reads.clear()
    assert services.documents_scan().changed == 3
    changed = list(store.read(after=3))
    # One append: one correlation, consecutive positions.
    assert len({e.metadata["correlation_id"] for e in changed}) == 1
    assert [e.position for e in changed] == [4, 5, 6]
    assert reactions.seen[3:] == [(name, "DocumentChanged", [f"{name} second"]) for name in names]
    assert len(reads) == 3


def test_a_stale_snapshot_never_records_a_change_twice(project, monkeypatch):
    project.write("a.md", "a\n")
    services.documents_scan()
    project.write("a.md", "a2\n")
    original = discovery.walk

    def walk_while_the_watcher_records(config):
        # Between the scan's look at the read model and its write phase, another writer records the change.
        assert services.document_changed_on_disk("a.md") == "changed"
        yield from original(config)

    monkeypatch.setattr(discovery, "walk", walk_while_the_watcher_records)
    result = services.documents_scan()
    assert (result.changed, result.unchanged) == (0, 1)
    assert [type(e).__name__ for _, e in events()] == ["DocumentAdded", "DocumentChanged"]


def test_one_file_changed_on_disk(project, reactions):
    assert services.document_changed_on_disk("a.md") == "absent"
    project.write("a.md", "1\n")
    assert services.document_changed_on_disk("a.md") == "added"
    assert services.document_changed_on_disk("./a.md") == "unchanged"
    project.write("a.md", "2\n")
    assert services.document_changed_on_disk("a.md") == "changed"
    project.write("b.md", b"\0")
    assert services.document_changed_on_disk("b.md") == "skipped"
    project.write("c.py", "x")
    assert services.document_changed_on_disk("c.py") == "skipped"
    (project.root / "a.md").unlink()
    assert services.document_changed_on_disk("a.md") == "removed"
    assert [(path, kind) for path, kind, _lines in reactions.seen] == [
        ("a.md", "DocumentAdded"),
        ("a.md", "DocumentChanged"),
        ("a.md", "DocumentRemoved"),
    ]
    with pytest.raises(DocumentNotFound):
        services.document_changed_on_disk("../outside.md")


def test_live_read_models_equal_a_rebuild(project):
    project.write("a.md", "a\n")
    project.write("b.md", "b\n")
    services.documents_scan()
    project.write("a.md", "changed\n")
    (project.root / "b.md").unlink()
    services.documents_scan()
    project.write("b.md", "back\n")
    services.document_changed_on_disk("b.md")
    assert projection.verify(["documents"]) == []


def test_two_hosts_whose_copies_differ_do_not_undo_each_other_at_every_scan(project, settings, tmp_path):
    """Two hosts on one database, each with its own checkout: each records what changed in its own copy, names
    itself, and takes over the other's content only when its own copy changed since it last looked."""
    laptop, ci2 = project.root, tmp_path / "ci-2"
    ci2.mkdir()
    (ci2 / "design.md").write_text("# Design\n")
    project.write("design.md", "# Design\n")

    def scan_on(host, root):
        settings.CHORUS_HOST_NAME, settings.PROJECT_ROOT = host, root
        return services.documents_scan().counts()

    assert scan_on("laptop", laptop)["added"] == 1
    assert scan_on("ci-2", ci2)["unchanged"] == 1  # the same copy: nothing to say
    project.write("design.md", "# Design\n\nmore\n")
    assert scan_on("laptop", laptop)["changed"] == 1
    position = store.last_position()
    for _ in range(2):  # ci-2's copy is behind, and did not change: it records nothing, nor does the laptop then
        assert scan_on("ci-2", ci2)["unchanged"] == 1
        assert scan_on("laptop", laptop)["unchanged"] == 1
    assert store.last_position() == position
    assert (Document.objects.get(pk="design.md").host, Document.objects.get(pk="design.md").line_count) == ("laptop", 3)

    (ci2 / "design.md").write_text("# Design\n\nother\n\nlines\n")  # edited on ci-2
    assert scan_on("ci-2", ci2)["changed"] == 1
    *_, changed = store.read(stream_type="document", stream_id="design.md")
    assert (changed.metadata["host"], Document.objects.get(pk="design.md").line_count) == ("ci-2", 5)
    assert scan_on("laptop", laptop)["unchanged"] == 1

    project.write("laptop-only.md", "# Mine\n")
    assert scan_on("laptop", laptop)["added"] == 1
    assert scan_on("ci-2", ci2)["removed"] == 0  # a document this checkout never had is not removed by it
    assert Document.objects.filter(pk="laptop-only.md").exists()
    (laptop / "laptop-only.md").unlink()
    assert scan_on("laptop", laptop)["removed"] == 1
