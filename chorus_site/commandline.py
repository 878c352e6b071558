"""How a person runs a Chorus command against this Chorus, as pages show it: this checkout's chorus.py, from the
project's directory (PROJECT_ROOT, which also picks the data directory), with the data directory and database
named when the environment chose them. Copied into a shell, it works as written."""

from __future__ import annotations

import os
import shlex
from pathlib import Path

from django.conf import settings


def command_line(arguments: str) -> str:
    """`cd PROJECT_ROOT && [CHORUS_DATA_DIR=...] python3 CHECKOUT/chorus.py ARGUMENTS` (ARGUMENTS as given)."""
    chosen = [
        f"{name}={shlex.quote(value)}"
        for name in ("CHORUS_DATA_DIR", "CHORUS_DATABASE")
        if (value := os.environ.get(name))
    ]
    chorus_py = shlex.quote(str(Path(settings.BASE_DIR) / "chorus.py"))
    return " ".join([f"cd {shlex.quote(str(settings.PROJECT_ROOT))} &&", *chosen, "python3", chorus_py, arguments])
