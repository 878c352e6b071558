from pathlib import Path

import pytest

from documents_app import services
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


@pytest.fixture
def listened(monkeypatch):
    """Every change-listener call, in order, for as long as the test runs."""
    calls = []
    monkeypatch.setattr(services, "on_document_change", [])
    services.register_change_listener(lambda *args: calls.append(args))
    return calls
