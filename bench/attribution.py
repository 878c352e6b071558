"""Change attribution: the worker's extra cost per round on a generated 10,000-file git repository with 5 tasks in
progress, beside a bare `git status --porcelain` of the same repository in the same run.

Run: .venv/bin/python bench/attribution.py [--files 10000] [--rounds 25]

Each round of the watch (tasks_app.services.changes_watch, what the worker's ChangeWatch job runs every
CHORUS_ATTRIBUTION_INTERVAL seconds) is timed in three cases, as medians:
- agents at work, 3 files edited since the last round: one `git status --porcelain=v1 -z`, the stat of each dirty
  path and of git's own files (index, HEAD, packed-refs, logs/HEAD), the 3 paths' lines counted in Python (difflib)
  against HEAD's blobs read through the watch's `git cat-file --batch`, kept open between rounds (no process
  started), and the FilesChanged events (shared between the 5 tasks, each checked against the other tasks' claims)
  appended in one transaction. HEAD is not read again: git's files did not move;
- agents at work, nothing changed: the status and the stats only (no blob read, nothing recorded);
- agents waiting for a person since the last round, git's files untouched: no git at all (no round more often than
  needed).
Each round's ratio is to the bare call timed just before it (the machine's load drifts less within a round than
over a run); the ratio printed is the median of those. Target (issue 11): a round at most 1.5x the bare call.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import time
from pathlib import Path

from fake_agents import setup

os.environ["CHORUS_MAX_ACTIVE_TASKS"] = "5"
WORK = setup("attribution")

from django.conf import settings  # noqa: E402
from django.core.management import call_command  # noqa: E402

from tasks_app import services  # noqa: E402
from tests.tasks_app.factories import assigned_task  # noqa: E402
from tests.tasks_app.helpers import delivery_ends, delivery_starts, session_status  # noqa: E402

TASKS = 5
EDITED_PER_ROUND = 3
GIT_ENV = {
    **os.environ,
    "GIT_AUTHOR_NAME": "b",
    "GIT_AUTHOR_EMAIL": "b@x",
    "GIT_COMMITTER_NAME": "b",
    "GIT_COMMITTER_EMAIL": "b@x",
}


def git(*args: str) -> None:
    subprocess.run(["git", "-C", str(settings.PROJECT_ROOT), *args], check=True, capture_output=True, env=GIT_ENV)


def generate_repository(root: Path, files: int) -> list[Path]:
    """`files` source files of 30 lines in directories of 100, dated an hour ago (as most of a checkout's files
    are, so the index's stat data is not racy), committed."""
    old = time.time() - 3600
    paths = []
    for index in range(files):
        path = root / f"pkg{index // 1000:02d}" / f"mod{index // 100 % 10:02d}" / f"file{index:05d}.py"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("".join(f"value_{line} = {index} * {line}\n" for line in range(30)))
        os.utime(path, (old, old))
        paths.append(path)
    git("init", "-q", "-b", "main")
    git("add", "-A")
    git("commit", "-q", "-m", "generated")
    git("status", "--porcelain")  # the index's stat data refreshed once, as in a working checkout
    return paths


def bare_status() -> float:
    started = time.perf_counter()
    subprocess.run(["git", "-C", str(settings.PROJECT_ROOT), "status", "--porcelain"], capture_output=True, check=True)
    return time.perf_counter() - started


def timed_round(watch: services.Watch) -> tuple[float, int]:
    started = time.perf_counter()
    recorded = services.changes_watch(watch)
    return time.perf_counter() - started, len(recorded)


def tasks_in_progress() -> list[str]:
    sessions = []
    for number in range(TASKS):
        name = f"agent{number}"
        task = assigned_task(name)
        delivery_starts(task.message_id)
        session_status(name, "busy")
        delivery_ends(task.message_id)
        sessions.append(name)
    return sessions


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=25)
    args = parser.parse_args()
    try:
        call_command("migrate", verbosity=0)
        paths = generate_repository(Path(settings.PROJECT_ROOT), args.files)
        sessions = tasks_in_progress()
        watch = services.Watch()
        services.changes_watch(watch)  # the baseline round
        bare, edited, unchanged, quiet = [], [], [], []
        ratios: dict[str, list[float]] = {"edited": [], "unchanged": [], "quiet": []}
        for number in range(args.rounds):
            floor = bare_status()
            for offset in range(EDITED_PER_ROUND):
                path = paths[(number * EDITED_PER_ROUND + offset) * 7 % len(paths)]
                path.write_text(path.read_text() + f"extra_{number} = {offset}\n")
            elapsed, recorded = timed_round(watch)
            assert recorded == TASKS, recorded  # each change shared between the 5 tasks in progress
            again = timed_round(watch)[0]
            bare.append(floor)
            edited.append(elapsed)
            unchanged.append(again)
            # paired with the bare call just before: the machine's load drifts less within a round than a run
            ratios["edited"].append(elapsed / floor)
            ratios["unchanged"].append(again / floor)
        for name in sessions:
            session_status(name, "waiting")
        services.changes_watch(watch)  # they changed status since the last round: one more look
        before = watch.git_rounds
        for _number in range(args.rounds):
            floor = bare_status()
            elapsed = timed_round(watch)[0]
            quiet.append(elapsed)
            ratios["quiet"].append(elapsed / floor)
        quiet_git_rounds = watch.git_rounds - before
        watch.blobs.close()
        print(f"{args.files:,} files, {TASKS} tasks in progress, {args.rounds} rounds; medians in ms")
        print(f"{'bare git status --porcelain':48}{statistics.median(bare) * 1000:8.1f}")
        for label, key, values in (
            (f"round, agents at work, {EDITED_PER_ROUND} files edited", "edited", edited),
            ("round, agents at work, nothing changed", "unchanged", unchanged),
            ("round, agents waiting since the last round", "quiet", quiet),
        ):
            ratio = statistics.median(ratios[key])
            print(f"{label:48}{statistics.median(values) * 1000:8.1f}   {ratio:5.2f}x the bare call beside it")
        print(f"git ran in {quiet_git_rounds} of the {args.rounds} quiet rounds (target 0); target per round <= 1.5x")
    finally:
        shutil.rmtree(WORK, ignore_errors=True)


if __name__ == "__main__":
    main()
