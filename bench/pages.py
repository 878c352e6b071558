"""Pages: server time of the overview (100 sessions) and of the task board (5,000 tasks), and in a real browser
the delay from an event committed by another process to the page's DOM (50 sessions).

Run: .venv/bin/python bench/pages.py [--requests 30] [--events 40]
Seeding goes through the real services and the event store: 100 `shell` sessions on a private tmux server
(session_create), their statuses as SessionStatusChanged events, 5,000 tasks through task_create/task_set_status.
Baselines in the same run: Django rendering a near-empty page (the login form, through the same middleware), and,
in the browser, the same events arriving as JSON on the plain /ws/live/ socket (no re-read, no render, no swap).
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

DATA = Path(tempfile.mkdtemp(prefix="chorus-bench-pages-"))
PROJECT = DATA / "project"
PROJECT.mkdir()
SOCKET = Path(tempfile.mkdtemp(prefix="chorus-bench-tmux-", dir="/tmp")) / "socket"
os.environ.update(
    DJANGO_SETTINGS_MODULE="chorus_site.settings",
    CHORUS_DATA_DIR=str(DATA),
    PROJECT_ROOT=str(PROJECT),
    CHORUS_TMUX_SOCKET=str(SOCKET),
    CHORUS_NOTIFY="off",
    CHORUS_LOG_LEVEL="WARNING",
)

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.test import Client  # noqa: E402

from events_app import store  # noqa: E402
from sessions_app import events as session_events  # noqa: E402
from sessions_app import services as session_services  # noqa: E402
from sessions_app.tmux import Tmux  # noqa: E402
from tasks_app import services as task_services  # noqa: E402
from tests.support import CHROMIUM, CHROMIUM_ARGS, ServerProcess, free_port  # noqa: E402

# Records, in the page, when a card with a given status appears and when the JSON socket delivers an event.
WATCH = """
([url]) => {
  window.__dom = {}; window.__json = {};
  new MutationObserver((records) => {
    const now = performance.timeOrigin + performance.now();
    for (const r of records) for (const n of r.addedNodes) {
      if (n.nodeType !== 1) continue;
      const cards = n.id && n.id.startsWith("card-") ? [n] : [...n.querySelectorAll("[id^=card-]")];
      for (const card of cards) {
        const key = card.id.slice(5) + ":" + card.dataset.status;
        if (!(key in window.__dom)) window.__dom[key] = now;
      }
    }
  }).observe(document.body, { childList: true, subtree: true });
  const ws = new WebSocket(url);
  ws.onopen = () => ws.send(JSON.stringify({ subscribe: ["session"] }));
  ws.onmessage = (m) => {
    const data = JSON.parse(m.data);
    const now = performance.timeOrigin + performance.now();
    for (const event of data.type === "event" ? [data] : data.events || []) window.__json[event.position] = now;
  };
}
"""


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def line(label: str, values: list[float]) -> str:
    return f"  {label:<48} median {statistics.median(values):7.1f} ms   p95 {percentile(values, 0.95):7.1f} ms"


def set_status(name: str, status: str) -> int:
    """A status change as the worker records it, appended by this process (not the web server's)."""
    session = session_services.get_session(name)
    changed = session_events.SessionStatusChanged(
        from_status=session.status, to_status=status, reason=f"bench: {status}", rule="bench", signal="bench", text=""
    )
    with store.event_context(actor="bench", source="cli"):
        return store.append("session", name, session.version, [changed])[0].position


def seed_sessions(names: list[str]) -> None:
    with store.event_context(actor="bench", source="cli"):
        for name in names:
            session_services.session_create(name, "shell")
    for index, name in enumerate(names):
        set_status(name, ("idle", "busy", "waiting", "idle")[index % 4])


def seed_tasks(count: int) -> None:
    with store.event_context(actor="bench", source="cli"):
        for index in range(count):
            task = task_services.task_create(
                f"Task {index}: do something useful",
                priority=index % 7,
                labels=[("ui", "backend", "docs")[index % 3]],
                status="backlog" if index % 3 == 0 else "ready",
            )
            if index % 5 == 0:
                task_services.task_cancel(task.id, expected_version=task.version, reason="bench")


def timed_get(client: Client, url: str, count: int) -> list[float]:
    client.get(url)  # warm: templates compiled, connections open
    times = []
    for _ in range(count):
        start = time.perf_counter()
        response = client.get(url)
        times.append((time.perf_counter() - start) * 1000)
        assert response.status_code == 200, (url, response.status_code)
    return times


def browser_latency(names: list[str], events: int) -> tuple[list[float], list[float]]:
    from playwright.sync_api import sync_playwright

    env = {**os.environ, "PYTHONPATH": str(ROOT), "CHORUS_DATABASE": str(settings.DATABASES["default"]["NAME"])}
    server = ServerProcess(env, free_port(), settings.CHORUS_TOKEN)
    dom, json_ = [], []
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"  # Playwright's sync API runs a loop in this thread
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.goto(f"{server.url}/login/?token={server.token}")
            page.wait_for_selector("#live-status[data-state=live]")
            page.evaluate(WATCH, [f"ws://127.0.0.1:{server.port}/ws/live/"])
            page.wait_for_timeout(500)
            for index in range(events):
                # mostly a card swapped alone; a card leaving "Needs you" re-renders the grid (also measured)
                name = names[(index * 3) % len(names)]
                status = "busy" if session_services.get_session(name).status in ("idle", "waiting") else "idle"
                position = set_status(name, status)
                committed = time.time() * 1000
                key = f"{name}:{status}"
                deadline = time.monotonic() + 5
                while time.monotonic() < deadline:
                    seen = page.evaluate("([k, p]) => [window.__dom[k], window.__json[p]]", [key, position])
                    if seen[0] and seen[1]:
                        dom.append(seen[0] - committed)
                        json_.append(seen[1] - committed)
                        page.evaluate("([k]) => { delete window.__dom[k]; }", [key])
                        break
                    time.sleep(0.005)
                else:
                    print(f"  (event {index} not seen within 5 s)")
                time.sleep(0.1)
            browser.close()
    finally:
        if previous is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        server.stop()
    return dom, json_


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=30)
    parser.add_argument("--events", type=int, default=40)
    parser.add_argument("--tasks", type=int, default=5000)
    args = parser.parse_args()
    call_command("migrate", verbosity=0)
    tmux = Tmux(str(SOCKET), config_file=os.devnull)
    try:
        started = time.monotonic()
        first = [f"s{n:03d}" for n in range(50)]
        seed_sessions(first)
        print(f"seeded 50 sessions in {time.monotonic() - started:.1f} s")

        if shutil.which(CHROMIUM) or os.path.exists(CHROMIUM):
            print(f"\nbrowser: event committed by this process -> page updated ({args.events} status changes)")
            dom, json_ = browser_latency(first, args.events)
            if dom:
                print(line("baseline: JSON on /ws/live/ reaches the page", json_))
                print(line("overview card swapped in the DOM (target p95 300)", dom))
        else:
            print(f"\nbrowser: skipped (no {CHROMIUM})")

        started = time.monotonic()
        seed_sessions([f"s{n:03d}" for n in range(50, 100)])
        seed_tasks(args.tasks)
        print(f"\nseeded 100 sessions and {args.tasks} tasks in {time.monotonic() - started:.1f} s")
        client = Client(HTTP_HOST="127.0.0.1")
        client.get(f"/login/?token={settings.CHORUS_TOKEN}")
        print(f"server time, Django test client in process, {args.requests} requests each")
        print(line("baseline: near-empty page (/login/)", timed_get(client, "/login/", args.requests)))
        print(line("overview, 100 sessions (target 150)", timed_get(client, "/", args.requests)))
        print(line(f"task board, {args.tasks} tasks (target 150)", timed_get(client, "/tasks/", args.requests)))
        print(line("task board filtered by label", timed_get(client, "/tasks/?label=ui", args.requests)))
        print(line("event log, newest page", timed_get(client, "/events/", args.requests)))
    finally:
        for pane in tmux.list_panes():
            with __import__("contextlib").suppress(Exception):
                os.kill(pane.pid, 9)
        tmux.kill_server()
        shutil.rmtree(SOCKET.parent, ignore_errors=True)
        shutil.rmtree(DATA, ignore_errors=True)


if __name__ == "__main__":
    main()
