from pathlib import Path

import pytest

from documents_app import selectors, services
from documents_app.events import DocumentAdded, DocumentChanged, DocumentRemoved
from events_app.policies import policy
from tests.sessions_app.conftest import tmux_server  # noqa: F401  (a private tmux server, for the editor tests)


class Project:
    """A PROJECT_ROOT of the test's own."""

    def __init__(self, root: Path):
        self.root = root

    def write(self, path: str, content: str | bytes) -> Path:
        target = self.root / path
        target.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, str):
            target.write_text(content)
        else:
            target.write_bytes(content)
        return target


@pytest.fixture
def project(tmp_path, settings, monkeypatch):
    root = tmp_path / "project"
    root.mkdir()
    settings.PROJECT_ROOT = root
    # Tests write and scan within milliseconds: under the real "racy" window no file would be old enough for the
    # scanner to remember it (test_services tests the window itself).
    monkeypatch.setattr(services, "RACY_NS", 0)
    return Project(root)


class Reactions:
    """What a reaction to document events sees inside their transaction, as another app's policy would: the event
    and the document's lines the selector serves (None for a removal). It can be told to fail for some paths."""

    def __init__(self):
        self.seen: list[tuple[str, str, list[str] | None]] = []
        self.refused: set[str] = set()


listening: list[Reactions] = []


@policy(DocumentAdded, DocumentChanged, DocumentRemoved, name="tests_documents_reaction")
def _react(recorded) -> None:
    for reactions in listening:
        event = recorded.event
        sha256 = getattr(event, "new_sha256", getattr(event, "sha256", None))
        removed = isinstance(event, DocumentRemoved)
        lines = None if removed else selectors.document_current_lines(recorded.stream_id, sha256)
        reactions.seen.append((recorded.stream_id, recorded.event_type, lines))
        if recorded.stream_id in reactions.refused:
            raise RuntimeError("the reaction is broken")


@pytest.fixture
def reactions():
    """A reaction of the test's own to every document event, for as long as the test runs."""
    watching = Reactions()
    listening.append(watching)
    yield watching
    listening.remove(watching)
