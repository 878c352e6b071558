"""The command line's start-up: `sessions list` beside a bare Django project's `manage.py check`.

Run: uv run --frozen python bench/cli.py [--rounds 9]   (or: .venv/bin/python bench/cli.py)

Each round runs, one after the other in fresh processes with the same Python (so a loaded machine slows all of them
alike):
- the floor: `manage.py check` of a project made by `django-admin startproject` (the contrib apps only);
- `manage.py sessions list` of Chorus on a migrated database in a temporary data directory holding 10 sessions
  (recorded as events; no tmux involved) (target: at most 1.5x the floor), and the same with `--json` (which loads
  the API's schemas);
- `python -m chorus_site.cli sessions list`, the command line `python3 chorus.py` hands over to (without uv's own
  start-up, which depends on uv, not on Chorus).
It prints the median wall time and CPU time (user + system) of each and their ratios to the floor's medians.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TARGET = 1.5


SESSIONS = """
from events_app import store
from sessions_app import events
for n in range(10):
    name = f"agent{n}"
    created = events.SessionCreated(
        name=name, profile="shell", command=[], cwd="/tmp", pane_id=f"%{n + 1}", tmux_session=name, pid=40000 + n
    )
    store.append("session", name, 0, [created])
"""


def cpu() -> float:
    used = resource.getrusage(resource.RUSAGE_CHILDREN)
    return used.ru_utime + used.ru_stime


def timed(command: list[str], cwd: Path, env: dict[str, str]) -> tuple[float, float]:
    """Wall time and CPU time of one run."""
    started, cpu_before = time.perf_counter(), cpu()
    subprocess.run(command, cwd=cwd, env=env, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - started, cpu() - cpu_before


@dataclasses.dataclass(frozen=True)
class Scratch:
    """A bare Django project (the floor) and a migrated Chorus project with its own data directory, in `directory`."""

    bare: Path
    bare_env: dict[str, str]
    project: Path
    chorus_env: dict[str, str]
    manage: list[str]


def scratch(directory: Path) -> Scratch:
    bare = directory / "bare"
    bare.mkdir()
    subprocess.run(
        [sys.executable, "-m", "django", "startproject", "bare", str(bare)], check=True, stdout=subprocess.DEVNULL
    )
    bare_env = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
    project = directory / "project"
    project.mkdir()
    chorus_env = dict(
        bare_env, PROJECT_ROOT=str(project), CHORUS_DATA_DIR=str(directory / "data"), PYTHONPATH=str(ROOT)
    )
    manage = [sys.executable, str(ROOT / "manage.py")]
    subprocess.run([*manage, "migrate", "-v0"], env=chorus_env, check=True)
    return Scratch(bare, bare_env, project, chorus_env, manage)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=9)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="chorus-bench-cli-") as directory:
        made = scratch(Path(directory))
        bare, bare_env, project, chorus_env, manage = (
            made.bare,
            made.bare_env,
            made.project,
            made.chorus_env,
            made.manage,
        )
        subprocess.run([*manage, "shell", "-c", SESSIONS], env=chorus_env, check=True, stdout=subprocess.DEVNULL)
        cases = {
            "bare Django: manage.py check (floor)": ([sys.executable, "manage.py", "check"], bare, bare_env),
            "manage.py sessions list": ([*manage, "sessions", "list"], project, chorus_env),
            "manage.py sessions list --json": ([*manage, "sessions", "list", "--json"], project, chorus_env),
            "python -m chorus_site.cli sessions list": (
                [sys.executable, "-m", "chorus_site.cli", "sessions", "list"],
                project,
                chorus_env,
            ),
        }
        for command, cwd, env in cases.values():  # a first run of each fills the disk cache and the .pyc files
            timed(command, cwd, env)
        runs: dict[str, list[tuple[float, float]]] = {name: [] for name in cases}
        for _ in range(args.rounds):
            for name, (command, cwd, env) in cases.items():
                runs[name].append(timed(command, cwd, env))
    wall = {name: statistics.median(run[0] for run in values) for name, values in runs.items()}
    used = {name: statistics.median(run[1] for run in values) for name, values in runs.items()}
    floor = "bare Django: manage.py check (floor)"
    print(f"{args.rounds} rounds, Python {sys.version.split()[0]}, medians:")
    print(f"  {'':<45} {'wall':>8}  {'ratio':>5}  {'CPU':>8}  {'ratio':>5}")
    for name in cases:
        print(
            f"  {name:<45} {wall[name] * 1000:5.0f} ms  {wall[name] / wall[floor]:4.2f}x"
            f"  {used[name] * 1000:5.0f} ms  {used[name] / used[floor]:4.2f}x"
        )
    for kind, medians in (("wall", wall), ("CPU", used)):
        ratio = medians["manage.py sessions list"] / medians[floor]
        verdict = "ok" if ratio <= TARGET else "OVER"
        print(f"sessions list / floor, {kind}: {ratio:.2f}x (target <= {TARGET}x): {verdict}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
