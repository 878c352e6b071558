"""Change attribution without git: git's status and numstat read as data, the rule that gives a change to the one
task in progress or shows it shared, the diff a review numbers, and the worker's watch over a fake git."""

import json

import pytest

from events_app import store
from sessions_app import services as session_services
from tasks_app import changes, git, policies, selectors, services
from tasks_app.changes import Line, Share
from tests.sessions_app.agents.test_claude import POST_WRITE
from tests.sessions_app.factories import SessionFactory
from tests.tasks_app.factories import assigned_task
from tests.tasks_app.helpers import delivery_ends, delivery_starts, event_types, session_appears, session_status


def test_a_porcelain_status_is_read_as_paths_and_codes_below_project_root():
    data = b" M src/a.py\0?? src/new file.txt\0R  src/b.py\0src/old.py\0D  docs/x.md\0"
    assert changes.parse_status(data) == {
        "src/a.py": " M",
        "src/new file.txt": "??",
        "src/b.py": "R ",
        "docs/x.md": "D ",
    }
    assert changes.parse_status(data, prefix="src/") == {"a.py": " M", "new file.txt": "??", "b.py": "R "}
    assert changes.parse_status(b"") == {}


def test_a_numstat_gives_lines_added_and_removed_and_none_for_a_binary_file():
    data = b"3\t1\tsrc/a.py\0-\t-\tlogo.png\0" + "10\t0\tnaïve\ttab.txt\0".encode()
    assert changes.parse_numstat(data) == {"src/a.py": (3, 1), "logo.png": (None, None), "naïve\ttab.txt": (10, 0)}


def test_lines_added_and_removed_are_counted_as_a_numstat_does_and_not_for_a_binary_file():
    assert changes.line_changes(b"a\nb\nc\n", b"a\nB\nc\nd\n") == (2, 1)
    assert changes.line_changes(None, b"x\ny\n") == (2, 0)
    assert changes.line_changes(b"x\n", None) == (0, 1)
    assert changes.line_changes(b"\0PNG", b"\0PNG2") == (None, None)
    assert changes.line_changes(b"", b"x\n" * 20_001) == (None, None)


def test_a_path_changed_between_rounds_is_one_whose_code_or_stat_moved():
    before = {"a": (" M", 10, 1), "b": (" M", 10, 1), "c": ("??", 5, 1), "d": (" M", None, None)}
    now = {"a": (" M", 10, 1), "b": (" M", 12, 2), "d": (" M", 3, 9), "e": ("??", 1, 1)}
    # c is clean again, e new, b edited again; d's earlier stat is unknown, so only its code counts
    assert changes.changed_paths(before, now) == {"b", "c", "e"}


def test_a_change_while_one_task_is_in_progress_is_its_own_otherwise_shared_never_given_to_one():
    assert changes.attribute([7]) == [Share(7, ())]
    assert changes.attribute([9, 7, 9]) == [Share(7, (9,)), Share(9, (7,))]
    assert changes.attribute([]) == []


def test_a_hooks_path_is_made_relative_to_project_root_and_one_outside_is_nobodys(settings, tmp_path):
    settings.PROJECT_ROOT = tmp_path
    assert changes.project_path(str(tmp_path / "src" / "a.py")) == "src/a.py"
    assert changes.project_path("b.py", str(tmp_path / "src")) == "src/b.py"
    assert changes.project_path("../../etc/passwd", str(tmp_path / "src")) is None
    assert changes.project_path("/etc/passwd") is None
    assert changes.project_path("") is None


def test_a_unified_diff_numbers_each_line_of_the_new_file_and_the_old():
    text = (
        "diff --git a/src/a.py b/src/a.py\nindex 1..2 100644\n--- a/src/a.py\n+++ b/src/a.py\n"
        "@@ -3,3 +3,3 @@ def f():\n keep\n-old\n+new\n tail\n\\ No newline at end of file\n"
        "diff --git a/b.txt b/b.txt\nnew file mode 100644\n--- /dev/null\n+++ b/b.txt\n@@ -0,0 +1 @@\n+hello\n"
    )
    parsed = changes.parse_diff(text)
    assert parsed["src/a.py"][1:] == [
        Line("ctx", "keep", 3, 3),
        Line("del", "old", old=4),
        Line("add", "new", new=4),
        Line("ctx", "tail", 5, 5),
        Line("note", "\\ No newline at end of file"),
    ]
    assert parsed["b.txt"][1:] == [Line("add", "hello", new=1)]


def test_the_comments_go_back_as_one_message_with_file_and_line():
    message = changes.review_message(4, [("src/a.py", 12, "name this better"), ("b.txt", 1, "why?")])
    assert message.splitlines()[1:] == ["- src/a.py:12: name this better", "- b.txt:1: why?"]
    assert "task #4" in message.splitlines()[0]


# --- the watch, over a fake git --------------------------------------------------------------------------------


class FakeGit:
    """git's answers as a test sets them: the status and HEAD's files; counts its status calls."""

    def __init__(self):
        self.status = b""
        self.committed: dict[str, bytes] = {}
        self.status_calls = 0

    def __call__(self, args, stdin=None):
        if args[0] == "rev-parse" and "--show-prefix" in args:
            return b"true\n\n"
        if args[0] == "rev-parse":
            return b"/nowhere/.git\n"
        if args[0] == "status":
            self.status_calls += 1
            return self.status
        if args[0] == "cat-file":
            paths = [line.removeprefix("HEAD:") for line in stdin.decode().splitlines()]
            return b"".join(
                b"%s blob %d\n%s\n" % (b"0" * 40, len(self.committed[p]), self.committed[p])
                if p in self.committed
                else f"HEAD:{p} missing\n".encode()
                for p in paths
            )
        return b""


@pytest.fixture
def fake_git(docs):
    fake = FakeGit()
    with git.git_runner(fake):
        yield fake


def in_progress(session: str):
    task = assigned_task(session)
    delivery_starts(task.message_id)
    session_status(session, "busy")
    delivery_ends(task.message_id)
    return selectors.task(task.id)


pytestmark = pytest.mark.django_db


def test_a_change_seen_while_one_task_is_in_progress_is_recorded_for_it(fake_git, docs):
    task = in_progress("s1")
    watch = services.Watch()
    assert services.changes_watch(watch) == []  # the first round is the baseline (no start snapshot here)
    docs.write("src/a.py", "x\n", scan=False)
    fake_git.status, fake_git.committed = b" M src/a.py\0", {"src/a.py": b"a\nb\n"}
    [change] = services.changes_watch(watch)
    assert (change.source, change.shared_with, change.files) == (
        "git",
        [],
        [{"path": "src/a.py", "added": 1, "removed": 2}],
    )
    [row] = selectors.changed_files(task.id)
    assert (row.path, row.added, row.removed, row.sources, row.shared_with) == ("src/a.py", 1, 2, ["git"], [])
    assert event_types("review", str(task.id)) == ["FilesChanged"]
    # the audit of the dispatch says what it touched
    [touched] = selectors.dispatch_changes([task.dispatch_id])[task.dispatch_id]
    assert (touched.path, touched.added, touched.removed) == ("src/a.py", 1, 2)


def test_a_change_seen_while_two_tasks_are_in_progress_is_shared_between_them(fake_git, docs):
    first, second = in_progress("s1"), in_progress("s2")
    watch = services.Watch()
    services.changes_watch(watch)
    fake_git.status = b"?? notes.txt\0"
    docs.write("notes.txt", "one\ntwo\n", scan=False)
    changes_seen = services.changes_watch(watch)
    assert [c.shared_with for c in changes_seen] == [[second.id], [first.id]]
    assert selectors.changed_files(first.id)[0].added == 2  # an untracked file's lines, all added
    assert selectors.changed_files(second.id)[0].shared_with == [first.id]


def test_a_change_in_this_hosts_checkout_is_never_given_to_a_task_at_work_on_another_host(fake_git, docs):
    SessionFactory(name="far", host="ci-2")
    here, there = in_progress("s1"), in_progress("far")
    assert [task.id for task in selectors.tasks_in_progress_here()] == [here.id]
    watch = services.Watch()
    services.changes_watch(watch)
    fake_git.status = b"?? notes.txt\0"
    docs.write("notes.txt", "one\n", scan=False)
    [change] = services.changes_watch(watch)
    assert (change.shared_with, selectors.changed_files(there.id)) == ([], [])
    assert selectors.changed_files(here.id)[0].path == "notes.txt"


def test_the_checkout_is_recorded_for_a_task_by_the_worker_of_its_sessions_host(fake_git, docs, settings):
    SessionFactory(name="far", host="ci-2")
    there = in_progress("far")
    assigned = [e for e in store.read(stream_type="task", stream_id=str(there.id)) if e.event_type == "TaskAssigned"]
    policies.the_checkout_is_recorded_at_start_and_review(assigned)
    assert selectors.change_snapshot(there.id, "start") is None
    settings.CHORUS_HOST_NAME = "ci-2"
    policies.the_checkout_is_recorded_at_start_and_review(assigned)
    assert selectors.change_snapshot(there.id, "start") is not None


def test_git_runs_only_when_something_could_have_changed(fake_git, docs):
    task = in_progress("s1")
    watch = services.Watch()
    services.changes_watch(watch)
    services.changes_watch(watch)
    assert fake_git.status_calls == 2  # the agent is busy: it may be writing
    session_status(task.session, "waiting")
    services.changes_watch(watch)  # it stopped for a dialog since the last round: one more look
    services.changes_watch(watch)
    services.changes_watch(watch)
    assert fake_git.status_calls == 3


def test_no_task_in_progress_no_git_and_outside_a_repository_nothing_at_all(fake_git, docs):
    watch = services.Watch()
    assert services.changes_watch(watch) == [] and fake_git.status_calls == 0
    in_progress("s1")
    with git.git_runner(lambda args, stdin=None: None):
        off = services.Watch()
        assert services.changes_watch(off) == [] and off.prefix is None
        assert "not in a git repository" in changes.attribution_off()


def test_a_file_its_agents_tool_wrote_is_the_tasks_own_even_with_another_task_in_progress(
    fake_git, docs, settings, tmp_path
):
    settings.DATA_DIR = tmp_path / "data"
    session_appears("c1", profile="claude")
    writer, other = in_progress("c1"), in_progress("s2")
    watch = services.Watch()
    services.changes_watch(watch)
    hooks = session_services.hook_directory("c1") / "files"
    hooks.mkdir(parents=True)
    payload = {**POST_WRITE, "cwd": str(docs.root), "tool_input": {"file_path": str(docs.root / "src/a.py")}}
    (hooks / "1-1.json").write_text(json.dumps(payload))
    fake_git.status = b" M src/a.py\0"
    idle = session_services.hook_directory("c2") / "files"
    session_appears("c2", profile="claude")
    idle.mkdir(parents=True)
    (idle / "1-1.json").write_text(json.dumps(payload))
    [change] = services.changes_watch(watch)
    assert (change.source, change.shared_with) == ("hook", [])
    assert [c.path for c in selectors.changed_files(writer.id)] == ["src/a.py"]
    assert selectors.changed_files(other.id) == []
    assert list(idle.iterdir()) == []  # a session with no task in progress: consumed, nobody's


def test_a_change_made_just_before_the_task_went_to_review_is_still_its_own(fake_git, docs):
    task = in_progress("s1")
    watch = services.Watch()
    services.changes_watch(watch)
    docs.write("src/last.py", "done\n", scan=False)
    fake_git.status = b"?? src/last.py\0"
    session_status("s1", "idle")
    assert selectors.task(task.id).status == "review"
    [change] = services.changes_watch(watch)  # the task left progress since the last round: one more look
    assert (change.files[0]["path"], change.shared_with) == ("src/last.py", [])
    calls = fake_git.status_calls
    assert services.changes_watch(watch) == [] and fake_git.status_calls == calls


def test_a_new_watch_starts_from_the_start_snapshot_or_else_from_the_checkout_as_it_is(fake_git, docs):
    task = in_progress("s1")
    docs.write("old.txt", "dirty before the task\n", scan=False)
    fake_git.status = b"?? old.txt\0"
    assert services.changes_watch(services.Watch()) == []  # no snapshot: what was dirty is not the task's
    assert services.changes_snapshot(task.id, "start")
    docs.write("new.txt", "the task's\n", scan=False)
    fake_git.status = b"?? old.txt\0?? new.txt\0"
    [change] = services.changes_watch(services.Watch())  # e.g. the worker restarted while the task was at work
    assert [f["path"] for f in change.files] == ["new.txt"]
