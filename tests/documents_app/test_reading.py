"""Reads confined to PROJECT_ROOT while an agent swaps a directory for a symbolic link out of it and back (issue 15,
item 4): checking a path and opening it later must never reach outside the root, whatever happens in between."""

import contextlib
import hashlib
import os
import threading
from collections import Counter

import pytest

from documents_app import reading, services
from documents_app.errors import DocumentError
from documents_app.models import Document
from events_app import store

pytestmark = pytest.mark.django_db

INSIDE, SECRET = b"inside\n", b"secret outside the root\n"


@pytest.fixture
def swapped(project, tmp_path):
    """docs/inner.md inside the root, recorded; while the block runs, a thread swaps docs/ for a symbolic link to a
    directory outside the root with its own inner.md, and back, as fast as it can."""
    project.write("docs/inner.md", INSIDE)
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "inner.md").write_bytes(SECRET)
    services.documents_scan()
    docs, parked = project.root / "docs", project.root / "docs.parked"
    stop = threading.Event()
    swaps = Counter()

    def swap():
        while not stop.is_set():
            os.rename(docs, parked)
            os.symlink(outside, docs)
            os.unlink(docs)
            os.rename(parked, docs)
            swaps["done"] += 1

    @contextlib.contextmanager
    def racing():
        thread = threading.Thread(target=swap)
        thread.start()
        try:
            yield
        finally:
            stop.set()
            thread.join()
        assert swaps["done"] > 100

    return racing


def test_document_reads_never_leave_the_root_while_a_directory_is_swapped_for_a_link(swapped):
    seen = Counter()
    with swapped():
        for _ in range(1000):
            try:
                seen[reading.read_document("docs/inner.md").data] += 1
            except DocumentError as refused:
                seen[type(refused).__name__] += 1
    assert SECRET not in seen, seen
    assert seen[INSIDE] > 0, seen


def test_scans_never_hash_a_file_outside_the_root_while_a_directory_is_swapped_for_a_link(swapped):
    """Whole scans and the watcher's look at one file, each checking the path before it reads."""
    with swapped():
        for look in range(1000):
            if look % 50:
                services.document_changed_on_disk("docs/inner.md")
            else:
                services.documents_scan()
    secret = hashlib.sha256(SECRET).hexdigest()
    recorded = [vars(recorded.event) for recorded in store.read(stream_type="document")]
    assert len(recorded) > 1 and not [event for event in recorded if secret in event.values()]
    services.documents_scan()
    assert Document.objects.get(pk="docs/inner.md").sha256 == hashlib.sha256(INSIDE).hexdigest()
