#!/usr/bin/env python3
"""Bootstrap for a fresh machine: `python3 chorus.py start` runs Chorus, `python3 chorus.py test` its tests,
`python3 chorus.py lint` its code checks.

Needs only Python 3.11+ and pip. It finds uv (or installs it into .chorus-tools/ beside this file), lets uv
build the locked environment, and hands over to manage.py. Run it from the project your agents work on:
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


def uv_run(uv: str, args: list[str], cwd: Path | None = None) -> int:
    env = dict(os.environ)
    env.setdefault("PROJECT_ROOT", os.getcwd())
    command = [uv, "run", "--frozen", "--project", str(HERE), *args]
    try:
        return subprocess.call(command, cwd=cwd, env=env)
    except KeyboardInterrupt:
        return 130


def main(argv: list[str]) -> int:
    if sys.version_info < (3, 11):
        say(f"Python 3.11 or newer is needed, this is {sys.version.split()[0]}")
        return 2
    action = argv[0] if argv else "start"
    if action not in ("start", "test", "lint", "manage"):
        say("usage: python3 chorus.py start | test [pytest args] | lint | manage <command> [args]")
        return 2
    uv = find_uv()
    if shutil.which("tmux") is None:
        say(TMUX_HINT)
    if action == "start":
        return uv_run(uv, ["python", str(HERE / "manage.py"), "start", *argv[1:]])
    if action == "manage":
        return uv_run(uv, ["python", str(HERE / "manage.py"), *argv[1:]])
    if action == "lint":
        return lint(uv)
    return uv_run(uv, ["pytest", *argv[1:]], cwd=HERE)


def lint(uv: str) -> int:
    """ruff's checks and formatting, then the layer contracts (import-linter, pyproject.toml); the first failure
    stops."""
    for check in (["ruff", "check", "."], ["ruff", "format", "--check", "."], ["lint-imports"]):
        status = uv_run(uv, check, cwd=HERE)
        if status != 0:
            return status
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
