#!/usr/bin/env python3
"""Bootstrap for a fresh machine: `python3 chorus.py start` runs Chorus, `python3 chorus.py test` its tests,
`python3 chorus.py lint` its code checks, and `python3 chorus.py COMMAND ...` any other command (`sessions list`,
`tasks add ...`, `doctor`; the README's Commands table).

Needs only Python 3.11+ and pip. It finds uv (or installs it into .chorus-tools/ beside this file), lets uv
build the locked environment (the runtime dependencies only, except for `test` and `lint`, which need the dev group)
and hands over to the `chorus` command line (chorus_site/cli.py). Run it from the project your agents work on:
PROJECT_ROOT defaults to the current directory.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
TOOLS = HERE / ".chorus-tools"
TMUX_HINT = "tmux is not installed: install it with `sudo apt-get install tmux` (Debian/Ubuntu) or `brew install tmux`"


def say(message: str) -> None:
    print(f"chorus: {message}", file=sys.stderr, flush=True)


def find_uv() -> str:
    for candidate in (shutil.which("uv"), TOOLS / "bin" / "uv"):
        if candidate and Path(candidate).exists():
            return str(candidate)
    say("uv not found; installing it into .chorus-tools/ (one time)")
    subprocess.run([sys.executable, "-m", "venv", str(TOOLS)], check=True)
    subprocess.run([str(TOOLS / "bin" / "pip"), "install", "--quiet", "uv"], check=True)
    return str(TOOLS / "bin" / "uv")


def uv_run(uv: str, args: list[str], dev: bool = False) -> list[str]:
    """The uv command line running ARGS in the locked environment: runtime dependencies only, or with the dev group
    (pytest, Playwright, ruff, ...) for the tests and the code checks."""
    return [uv, "run", "--frozen", *([] if dev else ["--no-dev"]), "--project", str(HERE), *args]


def command_lines(uv: str, argv: list[str]) -> list[list[str]]:
    """What `python3 chorus.py ARGV` runs, in order (the first failure stops)."""
    action, rest = (argv[0], argv[1:]) if argv else ("start", [])
    if action == "test":
        return [uv_run(uv, ["pytest", *rest], dev=True)]
    if action == "lint":
        # ruff's checks and formatting, then the layer contracts (import-linter, pyproject.toml).
        return [
            uv_run(uv, check, dev=True)
            for check in (["ruff", "check", "."], ["ruff", "format", "--check", "."], ["lint-imports"])
        ]
    if action == "manage":  # the older spelling, `python3 chorus.py manage sessions list`
        rest = rest or ["help"]
        action, rest = rest[0], rest[1:]
    return [uv_run(uv, ["python", "-m", "chorus_site.cli", action, *rest])]


def main(argv: list[str]) -> int:
    if sys.version_info < (3, 11):
        say(f"Python 3.11 or newer is needed, this is {sys.version.split()[0]}")
        return 2
    uv = find_uv()
    if shutil.which("tmux") is None and argv[:1] in ([], ["start"], ["test"]):
        say(TMUX_HINT)
    env = dict(os.environ)
    env.setdefault("PROJECT_ROOT", os.getcwd())
    # The tests and the code checks run in the checkout; every other command where it was typed (PROJECT_ROOT).
    cwd = HERE if argv[:1] in (["test"], ["lint"]) else None
    for command in command_lines(uv, argv):
        try:
            status = subprocess.call(command, cwd=cwd, env=env)
        except KeyboardInterrupt:
            return 130
        if status != 0:
            return status
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
