"""Round trip of an agent's report_progress, from the call to its event committed and to its note in the task page's
DOM in Chromium, beside the no-op tool (ping).

Run: .venv/bin/python bench/agent_tools.py [--calls 100] [--no-browser]
One real Chorus server and one real session (a shell in a private tmux server) with its own credential and a task
assigned to it; the SDK's own client calls both tools alternately on one connection, so both pay the same HTTP,
authentication and MCP costs and the difference is the facade's work: its checks, one transaction of events, the
commit. A report counts as committed when another connection to the database reads its event. Meanwhile Chromium
shows the task's page, where a MutationObserver notes when each note arrives in the timeline (the page's socket
re-reads and swaps the partial). Targets: report_progress within 2x the no-op; the note in the DOM within 300 ms p95.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.support import CHROMIUM, CHROMIUM_ARGS, ServerProcess, free_port  # noqa: E402

SESSION = "bench"
# Notes, in the page, when (epoch ms, the clock time.time() reads) each progress note first appears in the DOM.
WATCH = """
() => {
  window.__notes = {};
  const seen = (node) => {
    const now = performance.timeOrigin + performance.now();
    const notes = node.matches("li.note") ? [node] : [...node.querySelectorAll("li.note")];
    for (const note of notes) {
      const text = note.querySelector(".note-text").textContent.trim();
      if (!(text in window.__notes)) window.__notes[text] = now;
    }
  };
  new MutationObserver((records) => {
    for (const r of records) for (const n of r.addedNodes) if (n.nodeType === 1) seen(n);
  }).observe(document.body, { childList: true, subtree: true });
}
"""


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def manage(env: dict, *args: str) -> None:
    subprocess.run([sys.executable, str(ROOT / "manage.py"), *args], env=env, check=True, stdout=subprocess.DEVNULL)


def committed(database: sqlite3.Connection, after: int) -> int | None:
    """The position of the first progress report committed after `after`, if another connection reads one."""
    row = database.execute(
        "SELECT MIN(position) FROM chorus_event WHERE position > ? AND event_type = 'AgentProgressReported'", (after,)
    ).fetchone()
    return row[0]


async def task_page(playwright, server: ServerProcess, task_id: int):
    """Chromium logged in and showing the task's page, its socket live and its timeline watched."""
    browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
    page = await browser.new_page(viewport={"width": 1280, "height": 900})
    await page.goto(f"{server.url}/login/?token={server.token}")
    await page.goto(f"{server.url}/tasks/{task_id}/")
    await page.wait_for_selector("#live-status[data-state=live]")
    await page.evaluate(WATCH)
    return browser, page


async def shown(page, note: str, timeout: float = 5.0) -> float | None:
    """When (epoch ms) the note appeared in the page's DOM; None if it did not within `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        at = await page.evaluate("(note) => window.__notes[note]", note)
        if at:
            return at
        await asyncio.sleep(0.005)
    return None


async def measure(
    server: ServerProcess, secret: str, database: sqlite3.Connection, calls: int, task_id: int | None
) -> dict[str, list[float]]:
    import httpx2
    from mcp.client.client import Client
    from mcp.client.streamable_http import streamable_http_client
    from playwright.async_api import async_playwright

    timings: dict[str, list[float]] = {"ping": [], "report_progress": [], "in the DOM": []}
    async with (
        async_playwright() as playwright,
        httpx2.AsyncClient(headers={"Authorization": f"Bearer {secret}"}, timeout=30) as http,
        Client(streamable_http_client(f"{server.url}/mcp/", http_client=http), mode="legacy") as session,
    ):
        browser, page = await task_page(playwright, server, task_id) if task_id else (None, None)
        await session.call_tool("ping", {})
        last = database.execute("SELECT COALESCE(MAX(position), 0) FROM chorus_event").fetchone()[0]
        for index in range(calls):
            started = time.perf_counter()
            result = await session.call_tool("ping", {})
            timings["ping"].append(time.perf_counter() - started)
            assert not result.is_error, result.content

            note = f"bench step {index}"
            called_at, started = time.time() * 1000, time.perf_counter()
            result = await session.call_tool("report_progress", {"note": note})
            assert not result.is_error, result.content
            while (position := committed(database, last)) is None:
                await asyncio.sleep(0.001)
            last = position
            timings["report_progress"].append(time.perf_counter() - started)
            if page is not None:
                at = await shown(page, note)
                if at is None:
                    print(f"  ({note!r} not in the DOM within 5 s)")
                else:
                    timings["in the DOM"].append((at - called_at) / 1000)
        if browser is not None:
            await browser.close()
    return {name: values for name, values in timings.items() if values}


def assigned_task(env: dict) -> int:
    """A task assigned to the bench session (its prompt queued; no worker types it), so notes land on its timeline."""
    added = subprocess.run(
        [sys.executable, str(ROOT / "manage.py"), "tasks", "add", "Benchmark the agent tools", "--json"],
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )
    task_id = json.loads(added.stdout)["id"]
    manage(env, "tasks", "assign", str(task_id), SESSION)
    return task_id


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=100, help="calls of each tool")
    parser.add_argument("--no-browser", action="store_true", help="only the committed events, no Chromium")
    args = parser.parse_args()
    browser = not args.no_browser and (os.path.exists(CHROMIUM) or shutil.which(CHROMIUM))

    data = Path(tempfile.mkdtemp(prefix="chorus-bench-tools-"))
    tmux_dir = Path(tempfile.mkdtemp(prefix="chorus-tmux-", dir="/tmp"))
    project = data / "project"
    project.mkdir()
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tests.settings",
        "CHORUS_DATA_DIR": str(data),
        "CHORUS_DATABASE": str(data / "chorus.sqlite3"),
        "CHORUS_TMUX_SOCKET": str(tmux_dir / "socket"),
        "PROJECT_ROOT": str(project),
        "PYTHONPATH": str(ROOT),
        # The per-session rate limit would otherwise refuse a benchmark's calls.
        "CHORUS_AGENT_MAX_CALLS": str(10 * args.calls),
    }
    port = free_port()
    env["PORT"] = str(port)
    manage(env, "migrate", "-v0")
    server = None
    try:
        manage(env, "sessions", "new", SESSION, "--profile", "shell")
        secret = (data / "agents" / SESSION / "credential").read_text().strip()
        task_id = assigned_task(env) if browser else None
        server = ServerProcess(env, port, (data / "token").read_text().strip())
        database = sqlite3.connect(data / "chorus.sqlite3", isolation_level=None)
        timings = asyncio.run(measure(server, secret, database, args.calls, task_id))
    finally:
        if server is not None:
            server.stop()
        subprocess.run(["tmux", "-S", str(tmux_dir / "socket"), "kill-server"], check=False, capture_output=True)
        shutil.rmtree(tmux_dir, ignore_errors=True)
        shutil.rmtree(data, ignore_errors=True)

    print(f"{args.calls} calls of each tool, alternating, one connection (ms; in the DOM: from the call):")
    medians = {}
    for name, values in timings.items():
        medians[name] = statistics.median(values)
        print(
            f"  {name:16} median {1000 * medians[name]:6.2f}  p95 {1000 * percentile(values, 0.95):6.2f}  "
            f"max {1000 * max(values):6.2f}"
        )
    ratio = medians["report_progress"] / medians["ping"]
    verdict = "meets" if ratio <= 2 else "misses"
    print(f"report_progress / ping, medians: {ratio:.2f}x ({verdict} the 2x target)")
    if "in the DOM" in timings:
        p95 = 1000 * percentile(timings["in the DOM"], 0.95)
        verdict = "meets" if p95 <= 300 else "misses"
        print(f"note in the task page's DOM, p95: {p95:.0f} ms ({verdict} the 300 ms target)")


if __name__ == "__main__":
    main()
