import pytest

from events_app.store import event_context
from sessions_app import credentials
from tasks_app import git

# The real-tmux fixtures (a private tmux server, a PROJECT_ROOT with the fake agent's profile) for the integration
# tests that follow a real session.
from tests.sessions_app.conftest import project, tmux_server  # noqa: F401
from tests.tasks_app.factories import SessionFactory
from tests.tasks_app.helpers import Docs


@pytest.fixture(autouse=True)
def _no_git(request):
    """The fast tier starts no git: PROJECT_ROOT's HEAD is None there and every other call fails, as in the tests'
    roots, which are outside any git repository. The integration tier runs the real git."""
    if request.node.get_closest_marker("integration"):
        yield
        return
    with git.head_reader(lambda: None), git.git_runner(lambda args, stdin=None: None):
        yield


@pytest.fixture
def docs(tmp_path, settings):
    """An empty PROJECT_ROOT of the test's own, outside any git repository, whose documents the test writes."""
    root = tmp_path / "root"
    root.mkdir()
    settings.PROJECT_ROOT = root
    settings.CHORUS_PROMPT_TEMPLATE = ""
    return Docs(root)


@pytest.fixture
def person():
    with event_context(actor="alice", source="test"):
        yield


@pytest.fixture
def pane(docs, settings, tmp_path, monkeypatch):
    """Inside the pane of session bob, a Claude Code session with Chorus's tools."""
    settings.DATA_DIR = tmp_path / "data"
    issued = credentials.issue("bob", "self")
    SessionFactory(name="bob", profile="claude")
    monkeypatch.setenv("CHORUS_AGENT_CREDENTIAL", str(issued.path))
    return issued
