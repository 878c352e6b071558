"""Document services for the live == rebuilt property test (see tests/events_app/domain_commands.py).

Documents come from files, so each command first changes a small tree of its own, then calls a service on it.
The tree outlives a rolled-back transaction, as a real one would; it is emptied whenever the log holds no
document event (a new example starts with an empty log), so a sequence replays the same way every time.
"""

import atexit
import shutil
import tempfile
from pathlib import Path

from django.test import override_settings
from hypothesis import strategies as st

from documents_app import services
from events_app.models import StoredEvent
from tests.events_app.domain_commands import command

ROOT = Path(tempfile.mkdtemp(prefix="chorus-documents-property-"))
atexit.register(shutil.rmtree, ROOT, ignore_errors=True)
paths = st.sampled_from(["a.md", "docs/b.rst", "c.txt", "ignored/d.md"])
texts = st.sampled_from(["", "# Title\n", "one\ntwo\n", "one\ntwo\nthree\n", "bin\0ary"]) | st.text(max_size=12)


def _tree() -> Path:
    if not StoredEvent.objects.filter(stream_type="document").exists():
        shutil.rmtree(ROOT, ignore_errors=True)
        ROOT.mkdir()
        (ROOT / ".gitignore").write_text("ignored/\n")
    return ROOT


def _write(path: str, text: str) -> None:
    target = _tree() / path
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(text)


def document_saved(path: str, text: str) -> None:
    """A file saved and reported by the watcher."""
    _write(path, text)
    with override_settings(PROJECT_ROOT=ROOT):
        services.document_changed_on_disk(path)


def document_saved_unseen(path: str, text: str) -> None:
    """A file saved while nothing watched: only a scan finds it."""
    _write(path, text)


def document_deleted(path: str) -> None:
    (_tree() / path).unlink(missing_ok=True)
    with override_settings(PROJECT_ROOT=ROOT):
        services.document_changed_on_disk(path)


def documents_scanned() -> None:
    _tree()
    with override_settings(PROJECT_ROOT=ROOT):
        services.documents_scan()


command(document_saved, path=paths, text=texts, weight=3)
command(document_saved_unseen, path=paths, text=texts)
command(document_deleted, path=paths)
command(documents_scanned, weight=2)
