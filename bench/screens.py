"""A change on a pane to the DOM of its session page (the screen mirror): the worker captures it, stores it, and the
web server pushes it. This tree beside another revision (`--before`, default `main`) in the same run.

Run: .venv/bin/python bench/screens.py [--changes 100] [--before main]
For each tree: a private tmux server and data directory, one `shell` session running `cat`, the tree's own
`run_worker` (CHORUS_POLL_INTERVAL as configured, 0.25 s by default) and web server, and Chromium on the session page
(the interactive terminal closed: only the mirror). Each change types a new word into the pane (`send-keys -l`; the
terminal echoes it at once) and is timed from just before that call to the moment the page's #screen holds the
word (a MutationObserver, on the same clock). Changes come 0-250 ms apart at random, so they fall anywhere in the
worker's tick. The other revision is `git archive`d into a temporary directory and run with this environment.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import shutil
import signal
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
import urllib.request
from io import BytesIO
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.support import CHROMIUM, CHROMIUM_ARGS, free_port  # noqa: E402

SESSION = "bench"
# Resolves once #screen holds the word, with the time (ms since the epoch) its swap was seen.
WATCH = """
(word) => { window.__seen = new Promise((resolve) => {
  const shown = () => (document.getElementById("screen")?.textContent ?? "").includes(word);
  const observer = new MutationObserver(() => {
    if (shown()) { observer.disconnect(); resolve(performance.timeOrigin + performance.now()); }
  });
  observer.observe(document.body, { subtree: true, childList: true, characterData: true });
}); }
"""


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def line(label: str, values: list[float]) -> str:
    return (
        f"  {label:34} p50 {statistics.median(values):6.1f}  p95 {percentile(values, 0.95):6.1f}  "
        f"max {max(values):6.1f}"
    )


def extract(revision: str) -> Path:
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", revision], check=True, capture_output=True).stdout
    tree = Path(tempfile.mkdtemp(prefix="chorus-bench-before-"))
    with tarfile.open(fileobj=BytesIO(archive)) as tar:
        tar.extractall(tree, filter="data")
    return tree


class Chorus:
    """One tree's worker and web server on a data directory and tmux server of their own, with the session."""

    def __init__(self, tree: Path):
        self.tree = tree
        self.data = Path(tempfile.mkdtemp(prefix="chorus-bench-screens-"))
        self.tmux_dir = Path(tempfile.mkdtemp(prefix="chorus-tmux-", dir="/tmp"))
        self.socket = self.tmux_dir / "socket"
        (self.data / "project").mkdir()
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "tests.settings",
            "CHORUS_DATA_DIR": str(self.data),
            "CHORUS_DATABASE": str(self.data / "chorus.sqlite3"),
            "CHORUS_TMUX_SOCKET": str(self.socket),
            "CHORUS_NOTIFY": "off",
            "CHORUS_LOG_LEVEL": "WARNING",
            "PROJECT_ROOT": str(self.data / "project"),
            "PYTHONPATH": str(tree),
            "SHELL": "/bin/sh",
            "PORT": str(self.port),
        }
        self.children: list[subprocess.Popen] = []

    def manage(self, *args: str) -> None:
        subprocess.run(
            [sys.executable, "manage.py", *args], cwd=self.tree, env=self.env, check=True, stdout=subprocess.DEVNULL
        )

    def tmux(self, *args: str) -> str:
        done = subprocess.run(["tmux", "-S", str(self.socket), *args], check=True, capture_output=True, text=True)
        return done.stdout.strip()

    def start(self) -> None:
        self.manage("migrate", "-v0")
        self.manage("sessions", "new", SESSION, "--profile", "shell", "--tools", "off")
        self.pane = self.tmux("display-message", "-p", "-t", f"={SESSION}:", "#{pane_id}")
        time.sleep(1)
        self.tmux("send-keys", "-t", self.pane, "cat", "Enter")
        self.token = (self.data / "token").read_text().strip()
        quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL, "cwd": self.tree, "env": self.env}
        self.children.append(subprocess.Popen([sys.executable, "manage.py", "run_worker"], **quiet))
        server = [sys.executable, "-m", "chorus_site.webserver", "-b", "127.0.0.1", "-p", str(self.port)]
        self.children.append(subprocess.Popen([*server, "chorus_site.asgi:application"], **quiet))
        deadline = time.monotonic() + 30
        while True:
            try:
                urllib.request.urlopen(f"{self.url}/login/", timeout=1)
                return
            except OSError:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"the web server of {self.tree} did not start") from None
                time.sleep(0.1)

    def stop(self) -> None:
        for child in self.children:
            child.send_signal(signal.SIGTERM)
        for child in self.children:
            try:
                child.wait(timeout=15)
            except subprocess.TimeoutExpired:
                child.kill()
        subprocess.run(["tmux", "-S", str(self.socket), "kill-server"], check=False, capture_output=True)
        shutil.rmtree(self.tmux_dir, ignore_errors=True)
        shutil.rmtree(self.data, ignore_errors=True)


async def changes_to_dom(playwright, chorus: Chorus, count: int) -> list[float]:
    browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
    try:
        page = await browser.new_page(viewport={"width": 1280, "height": 900})
        await page.goto(f"{chorus.url}/login/?token={chorus.token}")
        await page.goto(f"{chorus.url}/sessions/{SESSION}/")
        await page.wait_for_selector("#screen")
        await page.wait_for_timeout(2000)  # the worker has seen the page's interest and stored a first screen
        timings = []
        for index in range(count):
            word = f"w{index:04d}x"
            await page.evaluate(WATCH, word)
            await asyncio.sleep(random.uniform(0, 0.25))
            start = time.time()
            chorus.tmux("send-keys", "-l", "-t", chorus.pane, f"{word} ")
            seen = await page.evaluate("() => window.__seen")
            timings.append(seen - 1000 * start)
            if index % 8 == 7:
                chorus.tmux("send-keys", "-t", chorus.pane, "C-u")  # keep cat's line short
        return timings
    finally:
        await browser.close()


def measure(tree: Path, count: int) -> list[float]:
    from playwright.async_api import async_playwright

    chorus = Chorus(tree)
    try:
        chorus.start()

        async def run():
            async with async_playwright() as playwright:
                return await changes_to_dom(playwright, chorus, count)

        return asyncio.run(run())
    finally:
        chorus.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--changes", type=int, default=100, help="changes timed in each tree")
    parser.add_argument("--before", default="main", help="the revision to compare with (git archive)")
    args = parser.parse_args()
    if not (os.path.exists(CHROMIUM) or shutil.which(CHROMIUM)):
        sys.exit(f"{CHROMIUM} is not installed (apt-get install chromium)")
    before_tree = extract(args.before)
    try:
        before = measure(before_tree, args.changes)
        after = measure(ROOT, args.changes)
    finally:
        shutil.rmtree(before_tree, ignore_errors=True)
    print(f"{args.changes} changes on a pane, each until its session page's mirror shows it (ms):")
    print(line(f"before ({args.before})", before))
    print(line("this tree", after))


if __name__ == "__main__":
    main()
