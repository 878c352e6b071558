"""Pages: server time and size of the overview and of the task board as they grow (10 to 500 sessions, 1,000 to
20,000 tasks), and in a real browser the delay from an event committed by another process to the page's DOM (50
sessions).

Run: .venv/bin/python bench/pages.py [--requests 30] [--events 40] [--sizes 10:1000 100:5000 500:20000]
Seeding goes through the event store: the first 50 sessions are `shell` sessions on a private tmux server
(session_create), the rest are recorded as SessionCreated events with no pane behind them (the pages read only the
read models and the mirrored screens, never tmux); a fifth of those end. Every live session gets a mirrored screen
of 40 coloured rows, as the worker records it. Tasks: the first 5,000 through task_create/task_cancel, the rest
appended as TaskCreated (and TaskDone, TaskFailed or TaskCancelled for most: a board that has run for months).
Server time is the Django test client's, in this process (no socket); bytes are the response body's.
Baselines in the same run: Django rendering a near-empty page (the login form, through the same middleware), the
smallest size's pages, and, in the browser, the same events arriving as JSON on the plain /ws/live/ socket (no
re-read, no render, no swap).
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
from sessions_app import mirror  # noqa: E402
from sessions_app import selectors as session_selectors  # noqa: E402
from sessions_app import services as session_services  # noqa: E402
from sessions_app.tmux import Tmux  # noqa: E402
from tasks_app import events as task_events  # noqa: E402
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


def seed_recorded_sessions(names: list[str]) -> None:
    """Sessions as their events record them, without a pane (see the module's docstring); every fifth ends."""
    with store.event_context(actor="bench", source="cli"):
        for index, name in enumerate(names):
            created = session_events.SessionCreated(
                name=name,
                profile="shell",
                command=["bash"],
                cwd=str(PROJECT),
                pane_id=f"%{10_000 + index}",
                tmux_session=name,
                pid=0,
            )
            store.append("session", name, 0, [created])
            if index % 5 == 4:
                store.append("session", name, 1, [session_events.SessionStopped(reason="bench", exit_status=0)])
            else:
                set_status(name, ("idle", "busy", "waiting", "idle")[index % 4])


def seed_screens() -> None:
    """A screen for every live session, as the worker records what it captured: 40 rows with colours."""
    row = "\x1b[32m{:3d}\x1b[0m \x1b[1mworking\x1b[0m on step {} of the plan: some output\n"
    rows = "".join(row.format(n, n) for n in range(40))
    live = session_selectors.sessions(include_ended=False).values_list("name", "pane_id")
    mirror.record({name: (pane, f"{name}\n{rows}", time.time()) for name, pane in live})


def seed_recorded_tasks(start: int, count: int) -> None:
    """Tasks appended as their events, most of them finished long ago (done, failed or cancelled)."""
    endings = (
        task_events.TaskDone(note="bench", git_head=None),
        task_events.TaskDone(note="bench", git_head=None),
        task_events.TaskFailed(reason="bench", git_head=None),
        task_events.TaskCancelled(reason="bench"),
        None,
    )
    with store.event_context(actor="bench", source="cli"):
        for number in range(start + 1, start + count + 1):
            created = task_events.TaskCreated(
                title=f"Task {number}: do something useful",
                description="",
                priority=number % 7,
                labels=[("ui", "backend", "docs", f"area-{number % 40}")[number % 4]],
                status="ready",
            )
            ending = endings[number % len(endings)]
            store.append("task", str(number), 0, [created] if ending is None else [created, ending])


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


def timed_get(client: Client, url: str, count: int) -> tuple[list[float], int]:
    """Milliseconds of each of `count` requests, and the response's size in bytes."""
    client.get(url)  # warm: templates compiled, connections open
    times = []
    for _ in range(count):
        start = time.perf_counter()
        response = client.get(url)
        times.append((time.perf_counter() - start) * 1000)
        assert response.status_code == 200, (url, response.status_code)
    return times, len(response.content)


def measured(client: Client, label: str, url: str, count: int) -> str:
    times, size = timed_get(client, url, count)
    return f"{line(label, times)}   {size / 1024:7.1f} KiB"


def size(text: str) -> tuple[int, int]:
    sessions, _, tasks = text.partition(":")
    return int(sessions), int(tasks)


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
            # every card, as the overview shows them all at this size (each section's first 24 by default)
            page.goto(f"{server.url}/?all=1")
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


def grow(sessions: int, tasks: int, have: tuple[int, int]) -> None:
    """Seed sessions and tasks up to these counts; the first 50 sessions have real panes, the first 5,000 tasks
    come through the services."""
    real = [f"s{n:03d}" for n in range(have[0], min(sessions, 50))]
    seed_sessions(real)
    seed_recorded_sessions([f"s{n:03d}" for n in range(max(have[0], 50), sessions)])
    seed_screens()
    through_services = max(0, min(tasks, 5000) - have[1])
    seed_tasks(through_services)
    start = have[1] + through_services
    seed_recorded_tasks(start, tasks - start)


def browser(args: argparse.Namespace) -> None:
    if args.no_browser:
        print("\nbrowser: skipped (--no-browser)")
    elif shutil.which(CHROMIUM) or os.path.exists(CHROMIUM):
        print(f"\nbrowser: event committed by this process -> page updated ({args.events} status changes)")
        dom, json_ = browser_latency([f"s{n:03d}" for n in range(50)], args.events)
        if dom:
            print(line("baseline: JSON on /ws/live/ reaches the page", json_))
            print(line("overview card swapped in the DOM (target p95 300)", dom))
    else:
        print(f"\nbrowser: skipped (no {CHROMIUM})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=30)
    parser.add_argument("--events", type=int, default=40)
    parser.add_argument(
        "--sizes", nargs="+", type=size, default=[(10, 1000), (100, 5000), (500, 20000)], help="SESSIONS:TASKS"
    )
    parser.add_argument("--no-browser", action="store_true")
    args = parser.parse_args()
    call_command("migrate", verbosity=0)
    tmux = Tmux(str(SOCKET), config_file=os.devnull)
    try:
        client = Client(HTTP_HOST="127.0.0.1")
        client.get(f"/login/?token={settings.CHORUS_TOKEN}")
        have = (0, 0)
        for sessions, tasks in sorted(args.sizes):
            if sessions >= 50 > have[0]:
                grow(50, have[1], have)
                have = (50, have[1])
                browser(args)
            started = time.monotonic()
            grow(sessions, tasks, have)
            have = (max(have[0], sessions), max(have[1], tasks))
            print(
                f"\n{have[0]} sessions and {have[1]} tasks (seeded in {time.monotonic() - started:.1f} s); "
                f"server time, Django test client in process, {args.requests} requests each"
            )
            print(measured(client, "baseline: near-empty page (/login/)", "/login/", args.requests))
            print(measured(client, f"overview, {have[0]} sessions (target 80, 200 KiB)", "/", args.requests))
            print(measured(client, f"task board, {have[1]} tasks (target 80)", "/tasks/", args.requests))
            print(measured(client, "task board filtered by label", "/tasks/?label=ui", args.requests))
            print(measured(client, "event log, newest page", "/events/", args.requests))
    finally:
        for pane in tmux.list_panes():
            with __import__("contextlib").suppress(Exception):
                os.kill(pane.pid, 9)
        tmux.kill_server()
        shutil.rmtree(SOCKET.parent, ignore_errors=True)
        shutil.rmtree(DATA, ignore_errors=True)


if __name__ == "__main__":
    main()
