"""References follow their text: re-anchored when it moved, stale (with a diff) when it changed, missing when the
document went. Driven by documents_app's scans, whose events tasks' policy follows inside the document's transaction."""

import pytest

from events_app import projection, store
from tasks_app import anchoring, selectors, services
from tasks_app.errors import TaskConflict, TaskError
from tasks_app.models import Reference
from tests.tasks_app.helpers import event_types, numbered

pytestmark = pytest.mark.django_db


def ref(reference_id="1.1") -> Reference:
    return Reference.objects.get(pk=reference_id)


@pytest.fixture
def anchored(docs):
    docs.write("docs/spec.md", numbered(20))
    return services.task_create("T", references=["docs/spec.md:5-7"])


# the pure part


@pytest.mark.parametrize(
    ("lines", "start", "expected"),
    [
        (["a", "x", "y", "b"], 2, ("intact", 2, 3)),
        (["new", "a", "x", "y"], 2, ("moved", 3, 4)),
        (["x", "y", "gap", "gap", "x", "y"], 4, ("moved", 5, 6)),  # nearest to line 4: the later copy
        (["x", "y", "gap", "gap", "x", "y"], 3, ("moved", 1, 2)),  # equally near (2 lines): the earlier copy
        (["a", "x", "Y", "b"], 2, ("changed", 2, 3)),
    ],
)
def test_locate_prefers_the_old_place_then_the_nearest_copy(lines, start, expected):
    found = anchoring.locate("x\ny", lines, start)
    assert (found.kind, found.start, found.end) == expected


def test_edited_text_that_also_moved_is_looked_for_where_it_went():
    snapshot = "def parse(text):\n    tokens = split(text)\n    return tree(tokens)"
    lines = [
        "# header",
        "",
        "import os",
        "",
        "def parse(text):",
        "    tokens = lex(text)",
        "    return tree(tokens)",
        "",
    ]
    found = anchoring.locate(snapshot, lines, 1)
    assert (found.kind, found.start, found.end) == ("changed", 5, 7)
    diff = anchoring.unified_diff("a.py", snapshot, found.text, found.start, found.end)
    assert "-    tokens = split(text)\n+    tokens = lex(text)" in diff
    assert "+++ a.py:5-7 (now)" in diff


def test_a_reworded_line_that_moved_is_found_by_likeness():
    lines = ["# Design", "", "Intro.", "", "## Output", "", "JSON or YAML.", "", "## Later", "", "Other text."]
    found = anchoring.locate("\nJSON only.", lines, 4)
    assert (found.kind, found.start, found.end, found.text) == ("changed", 6, 7, "\nJSON or YAML.")


def test_among_alike_lines_the_one_edited_in_place_wins():
    found = anchoring.locate("line 2", ["line 1", "line two", "line 3"], 2)
    assert (found.start, found.end, found.text) == (2, 2, "line two")


def test_text_with_nothing_left_in_common_keeps_its_range_cut_to_the_document():
    found = anchoring.locate("x\ny\nz", ["other", "lines"], 2)
    assert (found.kind, found.start, found.end, found.text) == ("changed", 2, 2, "lines")
    empty = anchoring.locate("x", [], 3)
    assert (empty.start, empty.end, empty.text) == (1, 0, "")


# references as tasks record them


def test_a_reference_records_range_hash_and_snapshot(anchored):
    reference = ref()
    assert (reference.path, reference.start, reference.end, reference.state) == ("docs/spec.md", 5, 7, "current")
    assert reference.snapshot == "line 5\nline 6\nline 7"
    assert reference.sha256 == anchoring.digest("line 5\nline 6\nline 7")


def test_moved_text_is_followed_to_its_new_lines(anchored, docs):
    docs.write("docs/spec.md", "intro\nmore intro\n" + numbered(20))
    assert (ref().start, ref().end, ref().state) == (7, 9, "current")
    recorded = list(store.read(stream_type="task"))[-1]
    assert recorded.event_type == "ReferenceReanchored"
    document_event = next(store.read(stream_type="document", descending=True, limit=1))
    assert recorded.metadata["causation_id"] == document_event.position


def test_changed_text_turns_stale_with_a_diff_and_a_person_refreshes_it(anchored, docs):
    docs.write("docs/spec.md", numbered(20).replace("line 6\n", "line six\n"))
    reference = ref()
    assert reference.state == "stale" and selectors.task(1).stale_references == 1
    assert "-line 6\n+line six" in reference.diff
    assert reference.current_sha256 == anchoring.digest("line 5\nline six\nline 7")
    position = store.last_position()
    docs.write("docs/spec.md", numbered(20).replace("line 6\n", "line six\n") + "appended\n")
    assert store.last_position() == position + 1, "the same stale text again is not a new event"
    task = selectors.task(1)
    refreshed = services.reference_refresh(task.id, "1.1", expected_version=task.version)
    assert (refreshed.state, refreshed.snapshot, refreshed.diff) == ("current", "line 5\nline six\nline 7", "")
    assert selectors.task(1).stale_references == 0
    assert event_types()[-2:] == ["ReferenceStale", "ReferenceRefreshed"]


def test_a_vanished_document_marks_its_references_missing_and_its_return_restores_them(anchored, docs):
    docs.remove("docs/spec.md")
    assert ref().state == "missing" and selectors.task(1).stale_references == 1
    task = selectors.task(1)
    with pytest.raises(TaskError, match="no document"):
        services.reference_refresh(task.id, "1.1", expected_version=task.version)
    docs.write("docs/spec.md", "new first line\n" + numbered(20))
    assert (ref().state, ref().start) == ("current", 6)
    assert event_types()[-2:] == ["ReferenceMissing", "ReferenceReanchored"]


def test_references_of_archived_tasks_rest_until_they_come_back(anchored, docs):
    task = services.task_archive(anchored.id, expected_version=anchored.version)
    docs.write("docs/spec.md", "x\n" + numbered(20).replace("line 7", "line seven"))
    assert ref().state == "current", "archived tasks are not followed"
    back = services.task_unarchive(task.id, expected_version=task.version)
    assert (ref().state, back.stale_references) == ("stale", 1)
    assert (ref().start, ref().end) == (6, 8)


def test_refresh_to_another_range_and_remove(anchored, docs):
    task = selectors.task(1)
    moved = services.reference_refresh(task.id, "1.1", expected_version=task.version, start=1, end=2)
    assert (moved.start, moved.end, moved.snapshot) == (1, 2, "line 1\nline 2")
    task = selectors.task(1)
    second = services.reference_add(task.id, "docs/spec.md", 10, 10, expected_version=task.version)
    assert second.id == "1.2"
    task = services.reference_remove(task.id, "1.1", expected_version=selectors.task(1).version)
    assert list(Reference.objects.values_list("id", flat=True)) == ["1.2"]
    with pytest.raises(TaskError, match=r"no reference '1\.1'"):
        services.reference_remove(task.id, "1.1", expected_version=task.version)
    third = services.reference_add(task.id, "docs/spec.md", 3, 3, expected_version=task.version)
    assert third.id == "1.3", "a removed reference's name is never reused"


def test_check_compares_with_the_files_when_nobody_watched(anchored, docs):
    docs.write("docs/spec.md", "moved\n" + numbered(20), scan=False)
    task = services.references_check(anchored.id, expected_version=anchored.version)
    assert (ref().start, task.stale_references) == (6, 0)


def test_replay_gives_the_same_references_without_reading_any_file(anchored, docs):
    docs.write("docs/spec.md", "moved\n" + numbered(20).replace("line 6", "LINE 6"))
    (docs.root / "docs" / "spec.md").unlink()
    assert projection.verify() == []


def test_assigning_needs_sound_references(anchored, docs):
    from tests.tasks_app.helpers import session_appears

    session_appears("s1")
    docs.write("docs/spec.md", numbered(20).replace("line 5", "line five"), scan=False)
    task = selectors.task(1)
    with pytest.raises(TaskConflict, match=r"reference 1.1 \(docs/spec.md:5-7\) is stale"):
        services.task_assign(task.id, "s1", expected_version=task.version)
    assert selectors.task(1).status == "ready"
