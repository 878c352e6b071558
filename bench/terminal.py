"""Keystroke to echo in the session page's terminal (xterm.js in Chromium, through /ws/terminal/, daphne, the worker's
relay link and its tmux control-mode client), beside the same keystroke typed by a bare control-mode client of our
own.

Run: .venv/bin/python bench/terminal.py [--keys 200]
One real Chorus server, its worker (which relays the terminal) and one session (a shell running `cat`, whose
terminal echoes each byte as it arrives) in a private tmux server. In the page, each key is given to xterm.js as a
person's input (`term.input`), and timed until xterm has parsed its echo (`onWriteParsed`; the screen paints at the
next frame). The baseline, in the same run and on the same pane: a control-mode client of this script sends the same
byte with `send-keys -H` and waits for its echo in `%output`: what tmux itself costs, so the rest is the browser,
the socket and the server.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import shutil
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
LINE = 40  # keys per line before Enter, so the echo stays on one line of the pane
# Types one key into xterm.js and resolves with the ms until its echo is parsed at the end of the cursor's line.
TYPE_ONE = """
(expected) => new Promise((resolve) => {
  const term = window.chorusTerminal;
  const start = performance.now();
  const line = () => term.buffer.active.getLine(term.buffer.active.baseY + term.buffer.active.cursorY);
  const done = term.onWriteParsed(() => {
    if (line().translateToString(true).endsWith(expected)) { done.dispose(); resolve(performance.now() - start); }
  });
  term.input(expected.slice(-1), true);
})
"""


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def line(label: str, values: list[float]) -> str:
    return (
        f"  {label:34} median {statistics.median(values):6.2f}  p95 {percentile(values, 0.95):6.2f}  "
        f"max {max(values):6.2f}"
    )


def manage(env: dict, *args: str) -> None:
    subprocess.run([sys.executable, str(ROOT / "manage.py"), *args], env=env, check=True, stdout=subprocess.DEVNULL)


def keys(count: int):
    """(the line so far, the key) for each key: letters, a fresh line every LINE keys."""
    typed = ""
    for index in range(count):
        if index and index % LINE == 0:
            typed = ""
            yield typed, "\r"
        typed += "abcdefghijklmnopqrstuvwxyz"[index % 26]
        yield typed, typed[-1]


async def in_the_browser(playwright, server: ServerProcess, count: int) -> list[float]:
    browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
    try:
        page = await browser.new_page(viewport={"width": 1280, "height": 900})
        await page.goto(f"{server.url}/login/?token={server.token}")
        await page.goto(f"{server.url}/sessions/{SESSION}/")
        await page.click("#live-terminal summary")
        await page.wait_for_selector("#live-terminal[data-state=live][data-writable=true]")
        await page.wait_for_timeout(500)  # the pane takes the window's size and the picture is painted again
        timings = []
        for typed, key in keys(count):
            if key == "\r":
                await page.evaluate("() => window.chorusTerminal.input('\\r', true)")
                await page.wait_for_timeout(50)
                continue
            timings.append(await page.evaluate(TYPE_ONE, typed))
        return timings
    finally:
        await browser.close()


async def bare_control_client(socket: Path, pane: str, count: int) -> list[float]:
    process = await asyncio.create_subprocess_exec(
        "tmux", "-S", str(socket), "-C", "attach-session", "-r", "-t", pane,
        stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
    )  # fmt: skip
    timings = []
    try:
        for _typed, key in keys(count):
            start = time.perf_counter()
            process.stdin.write(f"send-keys -H -t {pane} {ord(key):02x}\n".encode())
            await process.stdin.drain()
            if key == "\r":
                # cat's copy of the line follows its echo: read until the pane is quiet, so no old byte counts
                with contextlib.suppress(TimeoutError):
                    while True:
                        await asyncio.wait_for(process.stdout.readline(), 0.05)
                continue
            prefix = f"%output {pane} ".encode()
            while True:
                output = await process.stdout.readline()
                if output.startswith(prefix) and key.encode() in output[len(prefix) :]:
                    break
            timings.append(1000 * (time.perf_counter() - start))
    finally:
        process.stdin.close()
        await process.wait()
    return timings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keys", type=int, default=200, help="keys typed each way")
    args = parser.parse_args()
    if not (os.path.exists(CHROMIUM) or shutil.which(CHROMIUM)):
        sys.exit(f"{CHROMIUM} is not installed (apt-get install chromium)")
    from playwright.async_api import async_playwright

    data = Path(tempfile.mkdtemp(prefix="chorus-bench-terminal-"))
    tmux_dir = Path(tempfile.mkdtemp(prefix="chorus-tmux-", dir="/tmp"))
    socket = tmux_dir / "socket"
    project = data / "project"
    project.mkdir()
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tests.settings",
        "CHORUS_DATA_DIR": str(data),
        "CHORUS_DATABASE": str(data / "chorus.sqlite3"),
        "CHORUS_TMUX_SOCKET": str(socket),
        "PROJECT_ROOT": str(project),
        "PYTHONPATH": str(ROOT),
        "SHELL": "/bin/sh",
    }
    port = free_port()
    env["PORT"] = str(port)
    manage(env, "migrate", "-v0")
    server = worker = None
    try:
        manage(env, "sessions", "new", SESSION, "--profile", "shell", "--tools", "off")
        pane = subprocess.run(
            ["tmux", "-S", str(socket), "display-message", "-p", "-t", f"={SESSION}:", "#{pane_id}"],
            check=True, capture_output=True, text=True,
        ).stdout.strip()  # fmt: skip
        time.sleep(1)
        subprocess.run(["tmux", "-S", str(socket), "send-keys", "-t", pane, "cat", "Enter"], check=True)
        server = ServerProcess(env, port, (data / "token").read_text().strip())
        worker = subprocess.Popen(
            [sys.executable, str(ROOT / "manage.py"), "run_worker"],
            env={**env, "CHORUS_WEB_URL": server.url},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )

        async def both():
            async with async_playwright() as playwright:
                browser = await in_the_browser(playwright, server, args.keys)
            return browser, await bare_control_client(socket, pane, args.keys)

        browser, bare = asyncio.run(both())
    finally:
        if worker is not None:
            worker.terminate()
            worker.wait(timeout=15)
        if server is not None:
            server.stop()
        subprocess.run(["tmux", "-S", str(socket), "kill-server"], check=False, capture_output=True)
        shutil.rmtree(tmux_dir, ignore_errors=True)
        shutil.rmtree(data, ignore_errors=True)

    print(f"{args.keys} keys, one at a time, each until its echo (ms):")
    print(line("browser terminal (xterm.js)", browser))
    print(line("bare control-mode client", bare))
    print(f"browser / bare, medians: {statistics.median(browser) / statistics.median(bare):.1f}x")


if __name__ == "__main__":
    main()
