"""Change attribution against real git repositories in temp dirs: a task's changes seen by the watch (edits,
new files, a commit between rounds) with PROJECT_ROOT below the top of its working tree, the snapshots, and the
review's diff against the start's HEAD; outside a repository attribution says so and records nothing."""

import subprocess

import pytest

from events_app import projection, store
from tasks_app import changes, git, lifecycle, selectors, services
from tests.tasks_app.helpers import session_status
from tests.tasks_app.test_changes import in_progress

pytestmark = [pytest.mark.integration, pytest.mark.django_db]
GIT_IDENTITY = {
    "GIT_AUTHOR_NAME": "t",
    "GIT_AUTHOR_EMAIL": "t@x",
    "GIT_COMMITTER_NAME": "t",
    "GIT_COMMITTER_EMAIL": "t@x",
}


def run_git(cwd, *args):
    env = {"PATH": "/usr/bin:/bin", **GIT_IDENTITY}
    return subprocess.run(["git", "-C", str(cwd), *args], check=True, capture_output=True, env=env).stdout


@pytest.fixture
def repo(tmp_path, settings):
    """A working tree whose PROJECT_ROOT is its `app/` directory, one commit in."""
    top = tmp_path / "repo"
    root = top / "app"
    (root / "src").mkdir(parents=True)
    (root / "src" / "a.py").write_text("one\ntwo\nthree\n")
    (top / "outside.txt").write_text("not the project's\n")
    run_git(top, "init", "-q", "-b", "main")
    run_git(top, "add", "-A")
    run_git(top, "commit", "-q", "-m", "start")
    settings.PROJECT_ROOT = root
    return root


def test_git_names_paths_below_project_root_and_counts_their_lines(repo):
    (repo / "src" / "a.py").write_text("one\n2\nthree\nfour\n")
    (repo / "new file.txt").write_text("x\ny\n")
    (repo.parent / "outside.txt").write_text("changed\n")
    prefix = git.prefix()
    assert prefix == "app/"
    assert changes.parse_status(git.status(), prefix) == {"src/a.py": " M", "new file.txt": "??"}
    assert changes.parse_numstat(git.numstat(None)) == {"src/a.py": (2, 1)}
    assert "+four" in git.diff(None, ["src/a.py"])
    (repo / "src" / "*.py").write_text("a pattern's name\n")
    run_git(repo, "add", "src/*.py")
    assert changes.parse_numstat(git.numstat(None, ["src/*.py"])) == {"src/*.py": (1, 0)}  # one file, not a glob


@pytest.fixture
def watch():
    made = services.Watch()
    yield made
    made.blobs.close()


def test_the_watch_records_edits_new_files_and_commits_for_the_task_in_progress(repo, watch):
    task = in_progress("s1")
    assert services.changes_snapshot(task.id, "start")
    assert not services.changes_snapshot(task.id, "start")  # once per dispatch: the policy runs at least once
    assert services.changes_watch(watch) == []
    (repo / "src" / "a.py").write_text("one\ntwo\nthree\nfour\n")
    (repo / "src" / "b.py").write_text("b\n")
    [seen] = services.changes_watch(watch)
    assert sorted((f["path"], f["added"], f["removed"]) for f in seen.files) == [("src/a.py", 1, 0), ("src/b.py", 1, 0)]
    run_git(repo, "add", "-A")
    run_git(repo, "commit", "-q", "-m", "the agent commits")
    (repo / "src" / "a.py").write_text("one\n")
    [after_commit] = services.changes_watch(watch)
    assert {f["path"] for f in after_commit.files} == {"src/a.py", "src/b.py"}
    assert [c.path for c in selectors.changed_files(task.id)] == ["src/a.py", "src/b.py"]
    assert services.changes_watch(watch) == []  # nothing new since


def test_the_review_diff_is_the_working_tree_against_the_start_snapshots_head(repo, watch):
    task = in_progress("s1")
    services.changes_snapshot(task.id, "start")
    start = selectors.change_snapshot(task.id, "start")
    assert start.git_head == git.git_head() and start.files == []
    services.changes_watch(watch)
    (repo / "src" / "a.py").write_text("one\nTWO\nthree\n")
    run_git(repo, "commit", "-q", "-am", "committed by the agent")
    (repo / "notes.md").write_text("# Notes\n")
    services.changes_watch(watch)
    shown = {f.path: f for f in changes.review_diff(selectors.task(task.id))}
    assert [(line.kind, line.text) for line in shown["src/a.py"].lines if line.kind in ("add", "del")] == [
        ("del", "two"),
        ("add", "TWO"),
    ]
    assert [(line.kind, line.text, line.new) for line in shown["notes.md"].lines[1:]] == [("add", "# Notes", 1)]
    assert changes.review_base(selectors.task(task.id)) == start.git_head


def test_the_review_snapshot_records_head_and_the_dirty_files_once_per_arrival_in_review(repo, watch):
    task = in_progress("s1")
    services.changes_snapshot(task.id, "start")
    start = selectors.change_snapshot(task.id, "start")
    services.changes_watch(watch)
    (repo / "src" / "a.py").write_text("one\ntwo\n")
    run_git(repo, "commit", "-q", "-am", "the agent commits")
    (repo / "src" / "a.py").write_text("one\nTWO\nthree\n")
    (repo / "notes.md").write_text("x\ny\n")
    services.changes_watch(watch)
    session_status("s1", "idle")
    task = selectors.task(task.id)
    assert task.status == lifecycle.REVIEW
    assert not services.changes_snapshot(task.id, "start")  # the start's stays as it was
    assert services.changes_snapshot(task.id, "review")
    assert not services.changes_snapshot(task.id, "review")  # once per arrival: the policy runs at least once
    head = run_git(repo, "rev-parse", "HEAD").decode().strip()
    review = selectors.change_snapshot(task.id, "review")
    assert (review.git_head, review.dispatch_id) == (head, task.dispatch_id) and head != start.git_head
    assert review.files == [
        {"path": "notes.md", "status": "??", "added": 2, "removed": 0},
        {"path": "src/a.py", "status": " M", "added": 2, "removed": 1},  # against HEAD, not the start's
    ]
    [recorded] = [
        r for r in store.read(stream_type="review", stream_id=str(task.id)) if r.event_type == "ChangesSnapshotTaken"
    ][1:]
    assert (recorded.event.moment, recorded.event.git_head, recorded.event.files) == ("review", head, review.files)
    # sent back and in review again: a new arrival, a new snapshot
    services.review_comment(task.id, "src/a.py", 2, "lower case")
    services.task_request_changes(task.id, expected_version=task.version)
    session_status("s1", "busy")
    (repo / "notes.md").unlink()
    session_status("s1", "idle")
    assert selectors.task(task.id).status == lifecycle.REVIEW
    assert services.changes_snapshot(task.id, "review")
    again = selectors.change_snapshot(task.id, "review")
    assert [f["path"] for f in again.files] == ["src/a.py"] and again.git_head == head
    assert projection.verify() == []


def test_the_open_cat_file_answers_each_round_from_head_as_it_is_and_is_replaced_when_it_dies(repo):
    reader = git.BlobReader()
    try:
        assert reader.blobs("HEAD", ["app/src/a.py", "app/none.py"]) == {
            "app/src/a.py": b"one\ntwo\nthree\n",
            "app/none.py": None,
        }
        (repo / "src" / "a.py").write_text("one\n")
        run_git(repo, "commit", "-q", "-am", "shorter")
        assert reader.blobs("HEAD", ["app/src/a.py"]) == {"app/src/a.py": b"one\n"}  # the new HEAD, same process
        reader._process.kill()
        reader._process.wait()
        assert reader.blobs("HEAD", ["app/src/a.py"]) == {"app/src/a.py": None}  # it died: unknown this once
        assert reader.blobs("HEAD", ["app/src", "app/src/a.py"]) == {"app/src": None, "app/src/a.py": b"one\n"}
    finally:
        reader.close()


def test_outside_a_repository_attribution_is_off_and_says_so(docs):
    task = in_progress("s1")
    assert "not in a git repository" in changes.attribution_off()
    assert not services.changes_snapshot(task.id, "start")
    assert services.changes_watch(services.Watch()) == []
    assert selectors.changed_files(task.id) == []
