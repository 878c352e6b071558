"""The pre-edit hook's cost: `chorus agent pre-edit` answering Claude Code's PreToolUse JSON, beside the same twin's
`whoami` and a bare Django project's `manage.py check`.

Run: uv run --frozen python bench/claims.py [--rounds 9] [--tasks 20]

Each round runs, one after the other in fresh processes with the same Python (so a loaded machine slows all of them
alike): the floor (`manage.py check` of a project made by `django-admin startproject`); `agent whoami` of a Claude
Code session (a twin's start and one call); `agent pre-edit` refusing an edit under another task's claim (it
records EditDenied), and allowing one of a file no task claims (CHORUS_CLAIMS_AUTO off, so each round asks the same
question), with `--tasks` tasks at work holding three claims each. It prints wall-time medians and their ratios to the
floor and to whoami (target: pre-edit at most 1.2x whoami: the claim check adds little to a twin's start).
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from cli import scratch

TARGET = 1.2

SETUP = """
from events_app import store
from sessions_app import credentials, events
from tasks_app import services
tasks = {tasks}
def session(name):
    created = events.SessionCreated(
        name=name, profile="claude", command=["claude"], cwd="/tmp", pane_id="%1", tmux_session=name, pid=None
    )
    store.append("session", name, 0, [created])
with store.event_context(actor="bench", source="cli"):
    for n in range(tasks):
        session(f"w{{n}}")
        task = services.task_create(f"t{{n}}", claims=[f"src/m{{n}}/**", f"docs/m{{n}}.md", f"tests/m{{n}}/test_*.py"])
        services.task_assign(task.id, f"w{{n}}", expected_version=task.version)
    session("me")
    mine = services.task_create("mine")
    services.task_assign(mine.id, "me", expected_version=mine.version)
    print(credentials.issue("me", "self").path)
"""


def payload(root: Path, relative: str) -> str:
    """What Claude Code sends a PreToolUse hook before an Edit."""
    return json.dumps(
        {
            "session_id": "bench",
            "transcript_path": "/tmp/bench.jsonl",
            "cwd": str(root),
            "permission_mode": "default",
            "hook_event_name": "PreToolUse",
            "tool_name": "Edit",
            "tool_input": {"file_path": str(root / relative), "old_string": "a", "new_string": "b"},
            "tool_use_id": "toolu_bench",
        }
    )


def timed(command: list[str], cwd: Path, env: dict[str, str], stdin: str = "") -> tuple[float, str]:
    started = time.perf_counter()
    done = subprocess.run(command, cwd=cwd, env=env, input=stdin, capture_output=True, text=True, check=True)
    return time.perf_counter() - started, done.stdout + done.stderr


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=9)
    parser.add_argument("--tasks", type=int, default=20)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="chorus-bench-claims-") as directory:
        made = scratch(Path(directory))
        bare, bare_env, project, manage = made.bare, made.bare_env, made.project, made.manage
        env = dict(made.chorus_env, CHORUS_CLAIMS_AUTO="0", CHORUS_MAX_ACTIVE_TASKS=str(args.tasks + 1))
        made = subprocess.run(
            [*manage, "shell", "--no-imports", "-c", SETUP.format(tasks=args.tasks)],
            env=env,
            capture_output=True,
            text=True,
        )
        if made.returncode != 0:
            sys.exit(f"setting up failed: {made.stderr.strip().splitlines()[-1]}")
        env["CHORUS_AGENT_CREDENTIAL"] = made.stdout.strip().splitlines()[-1]
        cases = {
            "bare Django: manage.py check (floor)": ([sys.executable, "manage.py", "check"], bare, bare_env, ""),
            "agent whoami": ([*manage, "agent", "whoami"], project, env, ""),
            "agent pre-edit, refused": ([*manage, "agent", "pre-edit"], project, env, payload(project, "src/m0/a.py")),
            "agent pre-edit, allowed": ([*manage, "agent", "pre-edit"], project, env, payload(project, "free.py")),
        }
        for name, (command, cwd, case_env, stdin) in cases.items():  # fills the disk cache and the .pyc files
            _, out = timed(command, cwd, case_env, stdin)
            if name.endswith("refused"):
                assert '"deny"' in out, out
        runs: dict[str, list[float]] = {name: [] for name in cases}
        for _ in range(args.rounds):
            for name, (command, cwd, case_env, stdin) in cases.items():
                runs[name].append(timed(command, cwd, case_env, stdin)[0])
    wall = {name: statistics.median(values) for name, values in runs.items()}
    floor, whoami = "bare Django: manage.py check (floor)", "agent whoami"
    print(f"{args.rounds} rounds, {args.tasks} tasks at work with 3 claims each, Python {sys.version.split()[0]}:")
    print(f"  {'':<40} {'median':>8}  {'/floor':>6}  {'/whoami':>7}")
    for name in cases:
        ratios = f"{wall[name] / wall[floor]:5.2f}x  {wall[name] / wall[whoami]:6.2f}x"
        print(f"  {name:<40} {wall[name] * 1000:5.0f} ms  {ratios}")
    worst = max(wall["agent pre-edit, refused"], wall["agent pre-edit, allowed"]) / wall[whoami]
    print(f"pre-edit / whoami: {worst:.2f}x (target <= {TARGET}x): {'ok' if worst <= TARGET else 'OVER'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
