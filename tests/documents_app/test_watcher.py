import os
import threading
import time

import pytest
from watchdog.events import (
    DirCreatedEvent,
    DirModifiedEvent,
    DirMovedEvent,
    FileClosedEvent,
    FileModifiedEvent,
    FileMovedEvent,
    FileOpenedEvent,
)

from documents_app import watcher as watcher_module
from documents_app.models import Document
from documents_app.watcher import DocumentWatcher, _Collector, is_scratch
from events_app import store


@pytest.mark.parametrize("name", [".#a.md", "a.md~", "4913", ".a.md.swp", ".a.md.swx", "#a.md#"])
def test_editor_scratch_files(name):
    assert is_scratch(name)


@pytest.mark.parametrize("name", ["a.md", "#", "notes.txt", "a.md.swap"])
def test_ordinary_files(name):
    assert not is_scratch(name)


@pytest.fixture
def collected(project, settings):
    settings.DATA_DIR = project.root / "data"
    job = DocumentWatcher()
    return job, _Collector(job), str(project.root)


def test_events_become_document_paths_or_scan_requests(collected):
    job, collector, root = collected
    collector.on_any_event(FileModifiedEvent(f"{root}/docs/a.md"))
    collector.on_any_event(FileMovedEvent(f"{root}/.b.md.tmp", f"{root}/b.md"))
    collector.on_any_event(FileClosedEvent(f"{root}/c.md"))
    for ignored in (
        FileOpenedEvent(f"{root}/d.md"),
        FileModifiedEvent(f"{root}/code.py"),
        FileModifiedEvent(f"{root}/.#e.md"),
        FileModifiedEvent(f"{root}/.git/f.md"),
        FileModifiedEvent(f"{root}/x/node_modules/g.md"),
        FileModifiedEvent(f"{root}/data/h.md"),
        FileModifiedEvent("/elsewhere/i.md"),
        DirModifiedEvent(f"{root}/docs"),
    ):
        collector.on_any_event(ignored)
    assert sorted(job._pending) == ["b.md", "c.md", "docs/a.md"]
    assert job._scan_wanted is None
    collector.on_any_event(DirCreatedEvent(f"{root}/new"))
    assert job._scan_wanted is not None
    job._scan_wanted = None
    collector.on_any_event(DirMovedEvent(f"{root}/old", f"{root}/moved"))
    assert job._scan_wanted is not None
    job._scan_wanted = None
    collector.on_any_event(FileModifiedEvent(f"{root}/docs/.gitignore"))
    assert job._scan_wanted is not None


@pytest.mark.django_db
def test_a_host_chorus_document_hosts_does_not_name_neither_watches_nor_scans(project, settings, caplog):
    settings.CHORUS_HOST_NAME, settings.CHORUS_DOCUMENT_HOSTS = "ci-2", ["laptop"]
    project.write("a.md", "a\n")
    job = DocumentWatcher()
    job.start()
    job.tick()
    assert (job.watching, Document.objects.exists()) == (False, False)
    assert "documents are watched on laptop (CHORUS_DOCUMENT_HOSTS), not on ci-2" in caplog.text
    settings.CHORUS_HOST_NAME = "laptop"
    job = DocumentWatcher()
    job.tick()
    assert Document.objects.filter(pk="a.md").exists()


@pytest.mark.django_db
def test_a_tree_that_cannot_be_watched_is_scanned_instead(project, monkeypatch, caplog):
    class Exhausted(watcher_module.Observer):
        def start(self):
            raise OSError(28, "inotify watch limit reached")

    monkeypatch.setattr(watcher_module, "Observer", Exhausted)
    monkeypatch.setattr(watcher_module, "UNWATCHED_SCAN_SECONDS", 0.3)
    project.write("a.md", "a\n")
    job = DocumentWatcher()
    job.start()
    try:
        assert not job.watching
        assert "cannot watch" in caplog.text and "inotify watch limit reached" in caplog.text
        job.tick()
        assert Document.objects.filter(pk="a.md").exists()
        project.write("b.md", "b\n")
        job.tick()
        assert not Document.objects.filter(pk="b.md").exists()
        time.sleep(0.3)
        job.tick()
        assert Document.objects.filter(pk="b.md").exists()
    finally:
        job.stop()


# --- the real thing: watchdog's observer on real files, ticked like the worker ticks it


def changes(path: str) -> int:
    return sum(
        1 for e in store.read(stream_type="document", stream_id=path) if type(e.event).__name__ != "DocumentAdded"
    )


@pytest.fixture
def running(project):
    project.write("a.md", "# A\none\n")
    project.write("ignored/b.md", "b\n")
    project.write(".gitignore", "ignored/\n")
    job = DocumentWatcher()
    job.start()

    def tick_until(condition, timeout=5.0) -> float:
        started = time.monotonic()
        while time.monotonic() - started < timeout:
            job.tick()
            if condition():
                return time.monotonic() - started
            time.sleep(job.interval)
        raise AssertionError("timed out")

    try:
        tick_until(lambda: Document.objects.filter(pk="a.md").exists())
        yield project, job, tick_until
    finally:
        job.stop()


@pytest.mark.integration
@pytest.mark.django_db(transaction=True)
def test_a_save_is_recorded_within_a_second(running):
    project, _job, tick_until = running
    saved = time.monotonic()
    project.write("a.md", "# A\none\ntwo\n")
    tick_until(lambda: changes("a.md") == 1)
    assert time.monotonic() - saved < 1.0
    assert Document.objects.get(pk="a.md").line_count == 3


@pytest.mark.integration
@pytest.mark.django_db(transaction=True)
def test_an_editors_save_dance_is_one_change(running):
    project, _job, tick_until = running
    path = project.root / "a.md"

    def vim_like_save():
        # Vim: probe file 4913, swap file, backup by rename, new file written in several pieces.
        (project.root / "4913").write_text("")
        (project.root / "4913").unlink()
        project.write(".a.md.swp", b"\0swap")
        os.replace(path, project.root / "a.md~")
        for piece in range(4):
            with path.open("a") as handle:
                handle.write(f"piece {piece}\n")
            time.sleep(0.04)
        (project.root / "a.md~").unlink()
        (project.root / ".a.md.swp").unlink()
        # Emacs' lock file is a dangling symbolic link named after the document.
        (project.root / ".#a.md").symlink_to("user@host.1234")

    saver = threading.Thread(target=vim_like_save)
    saver.start()
    tick_until(lambda: not saver.is_alive() and changes("a.md") >= 1)
    saver.join()
    settled = time.monotonic() + 0.6
    tick_until(lambda: time.monotonic() > settled)
    assert changes("a.md") == 1
    assert sorted(Document.objects.values_list("path", flat=True)) == ["a.md"]
    assert Document.objects.get(pk="a.md").line_count == 4


@pytest.mark.integration
@pytest.mark.django_db(transaction=True)
def test_renames_directories_deletions_and_gitignore_changes(running):
    project, _job, tick_until = running
    temporary = project.write(".a.md.tmp123", "# A\natomically saved\n")
    os.replace(temporary, project.root / "a.md")
    tick_until(lambda: changes("a.md") == 1)
    staging = project.root.parent / "staging"
    (staging / "deep").mkdir(parents=True)
    (staging / "deep" / "c.md").write_text("c\n")
    os.replace(staging, project.root / "moved-in")
    tick_until(lambda: Document.objects.filter(pk="moved-in/deep/c.md").exists())
    project.write(".gitignore", "ignored/\nmoved-in/\n")
    tick_until(lambda: not Document.objects.filter(pk="moved-in/deep/c.md").exists())
    (project.root / "a.md").unlink()
    tick_until(lambda: not Document.objects.filter(pk="a.md").exists())
    removed = [
        e.event.reason for e in store.read(stream_type="document") if type(e.event).__name__ == "DocumentRemoved"
    ]
    assert removed == ["moved-in/ is ignored by .gitignore", "the file was deleted"]
