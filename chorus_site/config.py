"""Chorus configuration from the environment: every variable, its default, and the data directory's secrets.

Kept free of Django imports so the bootstrap script and settings share one reading of the environment.
"""

from __future__ import annotations

import hashlib
import os
import secrets
from pathlib import Path

LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")


def project_root() -> Path:
    return Path(os.environ.get("PROJECT_ROOT") or os.getcwd()).expanduser().resolve()


def data_dir(root: Path | None = None) -> Path:
    """Where the database and secrets live: one directory per project, outside the project's tree."""
    explicit = os.environ.get("CHORUS_DATA_DIR")
    if explicit:
        return Path(explicit).expanduser().resolve()
    root = root or project_root()
    base = Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share") / "chorus"
    digest = hashlib.sha256(str(root).encode()).hexdigest()[:8]
    return base / f"{root.name or 'root'}-{digest}"


def read_or_create_secret(path: Path, nbytes: int = 32) -> str:
    """Return the secret kept in `path`, creating it with mode 0600 on first use."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_text().strip()
    value = secrets.token_urlsafe(nbytes)
    with os.fdopen(fd, "w") as handle:
        handle.write(value + "\n")
    return value


def env_int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw in (None, ""):
        return default
    try:
        return int(raw)
    except ValueError:
        raise SystemExit(f"chorus: {name} must be a whole number, not {raw!r}") from None


def env_bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw in (None, ""):
        return default
    return raw.strip().lower() in ("1", "true", "yes", "on")


def bind_host() -> str:
    return os.environ.get("CHORUS_HOST", "127.0.0.1")


def port() -> int:
    return env_int("PORT", 8765)
