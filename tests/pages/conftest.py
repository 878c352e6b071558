"""The browser tier: a real Chromium (Debian's, driven by Playwright) against a real daphne, a real worker process,
real tmux and the fake agent. Missing Chromium or Playwright skips locally and fails in CI."""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
from django.conf import settings
from django.test import Client

from tasks_app import git
from tests.conftest import IN_CI, PROCESS_TIERS, ROOT
from tests.sessions_app.conftest import fake_agent_cmd, project, tmux_server  # noqa: F401  (fixtures used here)
from tests.support import CHROMIUM, CHROMIUM_ARGS, ServerProcess, free_port


@pytest.fixture(autouse=True)
def _fast_tier_reads_no_checkout(request):
    """The fast tier starts no git: a task page reads no checkout there (change attribution is off), HEAD is None."""
    if any(request.node.get_closest_marker(tier) for tier in PROCESS_TIERS):
        yield
        return
    with git.head_reader(lambda: None), git.git_runner(lambda args, stdin=None: None):
        yield


WIDTHS = {"laptop": (1280, 860), "phone": (390, 844)}
RUN_ID = os.environ.get("CHORUS_TEST_RUN_ID") or time.strftime("%Y%m%d-%H%M%S")
SHOTS = ROOT / "test-artifacts" / "screenshots" / RUN_ID


@pytest.fixture
def browser():
    """Django's test client, logged in: the pages and their actions without a real browser."""
    client = Client(HTTP_HOST="127.0.0.1")
    client.get(f"/login/?token={settings.CHORUS_TOKEN}")
    return client


def _missing(message: str):
    if IN_CI:
        pytest.fail(message)
    pytest.skip(message)


@pytest.fixture(scope="module")
def chromium():
    """A Playwright browser on Debian's Chromium (Playwright's own browser download cannot work here), one per
    module: while it is open Playwright's event loop runs in this thread, and an asyncio test after it would
    find that loop running and fail."""
    try:
        from playwright.sync_api import expect, sync_playwright
    except ImportError:
        _missing("playwright is not installed (uv sync)")
    # Live updates arrive within a second; the slack is for a loaded 2-core machine starting agents and servers.
    expect.set_options(timeout=15_000)
    if not (os.path.exists(CHROMIUM) or shutil.which(CHROMIUM)):
        _missing(f"{CHROMIUM} is not installed (apt-get install chromium)")
    # Playwright's sync API keeps an event loop running in this thread, which Django takes for async code and
    # refuses ORM calls in; the tests' own database calls are plain synchronous ones.
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            try:
                yield browser
            finally:
                browser.close()
    finally:
        if previous is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


@dataclass
class Stack:
    server: ServerProcess
    worker: subprocess.Popen
    env: dict
    project: object

    @property
    def url(self) -> str:
        return self.server.url

    def manage(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        """A manage.py command in a process of its own, on the same database, project and tmux server."""
        return subprocess.run(
            [sys.executable, str(ROOT / "manage.py"), *args],
            env=self.env,
            capture_output=True,
            text=True,
            check=check,
            timeout=60,
        )


@pytest.fixture
def stack(project, tmux_server, subprocess_env, transactional_db):  # noqa: F811  (fixtures imported above)
    """daphne and `manage.py run_worker` as child processes on the test database, the fake agent's project and
    a private tmux server."""
    env = {
        **subprocess_env,
        "PROJECT_ROOT": str(project.root),
        "CHORUS_TMUX_SOCKET": str(tmux_server.socket),
        "CHORUS_CLAUDE_SESSIONS_DIR": os.environ["CHORUS_CLAUDE_SESSIONS_DIR"],
        "CHORUS_NOTIFY": "off",
        "CHORUS_POLL_INTERVAL": "0.1",
        "CHORUS_TASK_INTERVAL": "0.2",
        "CHORUS_TASK_QUIET_SECONDS": "1",
        "CHORUS_ATTRIBUTION_INTERVAL": "0.2",
        "CHORUS_LOG_LEVEL": "WARNING",
    }
    env.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
    server = ServerProcess(env, free_port(), settings.CHORUS_TOKEN)
    worker = subprocess.Popen(
        [sys.executable, str(ROOT / "manage.py"), "run_worker"],
        env={**env, "CHORUS_WEB_URL": server.url},  # where it relays the browser terminals
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        yield Stack(server, worker, env, project)
    finally:
        worker.send_signal(signal.SIGTERM)
        try:
            worker.wait(timeout=15)
        except subprocess.TimeoutExpired:
            worker.kill()
        server.stop()


# Records desktop notices instead of showing them, and says they were allowed.
FAKE_NOTIFICATIONS = """
window.__notices = [];
window.Notification = class {
  constructor(title, options) { window.__notices.push({ title, body: options && options.body }); }
  static requestPermission() { return Promise.resolve("granted"); }
};
window.Notification.permission = "granted";
"""


@pytest.fixture
def page(chromium, stack):
    """A logged-in browser tab at laptop width; fails the test on any JavaScript error."""
    context = chromium.new_context(viewport={"width": 1280, "height": 860}, base_url=stack.url)
    context.add_init_script(FAKE_NOTIFICATIONS)
    context.set_default_timeout(20_000)
    tab = context.new_page()
    errors: list[str] = []
    tab.on("pageerror", lambda exc: errors.append(str(exc)))
    tab.goto(f"/login/?token={stack.server.token}")
    try:
        yield tab
    finally:
        context.close()
    assert not errors, f"JavaScript errors: {errors}"


@pytest.fixture
def screenshot(request):
    """shot(page, name): saves the page at laptop and phone widths under test-artifacts/screenshots/<run>/."""
    SHOTS.mkdir(parents=True, exist_ok=True)

    def shot(tab, name: str) -> list[Path]:
        saved = []
        original = tab.viewport_size
        for label, (width, height) in WIDTHS.items():
            tab.set_viewport_size({"width": width, "height": height})
            tab.wait_for_timeout(150)
            path = SHOTS / f"{re.sub(r'[^A-Za-z0-9_.-]', '_', name)}-{label}.png"
            tab.screenshot(path=str(path), full_page=True)
            saved.append(path)
        tab.set_viewport_size(original)
        return saved

    return shot


def wait_for(condition, timeout: float = 15.0, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(Exception):
            result = condition()
            if result:
                return result
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def drag_over_lines(tab, *numbers: int) -> None:
    """In the document viewer, press on the first line number and move over the others, then let go."""
    tab.locator(f"#L{numbers[0]} .ln").hover()
    tab.mouse.down()
    for number in numbers[1:]:
        tab.locator(f"#L{number} .ln").hover()
    tab.mouse.up()
