"""Round trip of an agent's report_progress, from the call to its event committed, beside the no-op tool (ping).

Run: uv run python bench/agent_tools.py [--calls 200]
One real Chorus server and one real session (a shell in a private tmux server) with its own credential; the SDK's
own client calls both tools alternately on one connection, so both pay the same HTTP, authentication and MCP costs
and the difference is the facade's work: its checks, one transaction of events, the commit. A report counts as
committed when another connection to the database reads its event. Target: report_progress within 2x the no-op.
"""

from __future__ import annotations

import argparse
import asyncio
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

from tests.support import ServerProcess, free_port  # noqa: E402

SESSION = "bench"


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


async def measure(url: str, secret: str, database: sqlite3.Connection, calls: int) -> dict[str, list[float]]:
    import httpx2
    from mcp.client.client import Client
    from mcp.client.streamable_http import streamable_http_client

    timings: dict[str, list[float]] = {"ping": [], "report_progress": []}
    async with (
        httpx2.AsyncClient(headers={"Authorization": f"Bearer {secret}"}, timeout=30) as http,
        Client(streamable_http_client(url, http_client=http), mode="legacy") as session,
    ):
        await session.call_tool("ping", {})
        last = database.execute("SELECT COALESCE(MAX(position), 0) FROM chorus_event").fetchone()[0]
        for index in range(calls):
            started = time.perf_counter()
            result = await session.call_tool("ping", {})
            timings["ping"].append(time.perf_counter() - started)
            assert not result.is_error, result.content

            started = time.perf_counter()
            result = await session.call_tool("report_progress", {"note": f"bench step {index}"})
            assert not result.is_error, result.content
            while (position := committed(database, last)) is None:
                await asyncio.sleep(0.001)
            last = position
            timings["report_progress"].append(time.perf_counter() - started)
    return timings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=200, help="calls of each tool")
    args = parser.parse_args()

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
        server = ServerProcess(env, port, (data / "token").read_text().strip())
        database = sqlite3.connect(data / "chorus.sqlite3", isolation_level=None)
        timings = asyncio.run(measure(f"{server.url}/mcp/", secret, database, args.calls))
    finally:
        if server is not None:
            server.stop()
        subprocess.run(["tmux", "-S", str(tmux_dir / "socket"), "kill-server"], check=False, capture_output=True)
        shutil.rmtree(tmux_dir, ignore_errors=True)
        shutil.rmtree(data, ignore_errors=True)

    print(f"{args.calls} calls of each tool, alternating, one connection (ms):")
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


if __name__ == "__main__":
    main()
