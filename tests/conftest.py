import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings

from tests.support import ServerProcess, child_environment, free_port

ROOT = Path(__file__).resolve().parent.parent
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
# Tests in these tiers may start processes (tmux, servers, browsers, agent CLIs); the fast tier starts none.
PROCESS_TIERS = ("integration", "browser", "agents")


@pytest.fixture(autouse=True)
def _fast_tier_starts_no_process(request, monkeypatch):
    """A test outside the process tiers that starts a process fails, naming itself: mark it, or use a seam."""
    if any(request.node.get_closest_marker(tier) for tier in PROCESS_TIERS):
        return

    def refuse(*_args, **_kwargs):
        raise AssertionError(f"{request.node.nodeid} starts a process: mark it integration (the fast tier starts none)")

    monkeypatch.setattr(subprocess.Popen, "_execute_child", refuse)
    for name in ("fork", "forkpty", "posix_spawn", "posix_spawnp", "system"):
        monkeypatch.setattr(os, name, refuse)


def require_binary(name: str, install_hint: str) -> str:
    """The path of a real component the test needs; skipped locally when missing, a failure in CI."""
    path = shutil.which(name)
    if path is None:
        message = f"{name} is not installed ({install_hint})"
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)
    return path


@pytest.fixture
def subprocess_env():
    return child_environment()


@pytest.fixture
def manage(subprocess_env):
    """Argument prefix that runs manage.py in a child process with the test database."""
    return [sys.executable, str(ROOT / "manage.py")]


@pytest.fixture
def server(subprocess_env, transactional_db):
    process = ServerProcess(subprocess_env, free_port(), settings.CHORUS_TOKEN)
    yield process
    process.stop()


@pytest.fixture(scope="module")
def module_server(django_db_setup):
    """One real server for the tests of a module that only ask it and read nothing it keeps in memory between
    requests (refusals, reads): starting daphne costs seconds. The database is emptied after each test as usual."""
    process = ServerProcess(child_environment(), free_port(), settings.CHORUS_TOKEN)
    yield process
    process.stop()


@pytest.fixture
def shared_server(module_server, transactional_db):
    return module_server
