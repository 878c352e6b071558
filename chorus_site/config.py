"""Chorus configuration from the environment: every variable, its default, and the data directory's secrets.

Kept free of Django imports so the bootstrap script and settings share one reading of the environment.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import pwd
import secrets
import stat
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


def secure_data_dir(directory: Path, *, uid: int | None = None) -> None:
    """Create the data directory, or tighten the one there, to mode 0700, and everything in it to 0600 (folders
    0700), at every start of every process: the database holds session keys and the files the token. Refuses, in
    one line, a directory (or anything in it) that belongs to another user than `uid` (this process's user): its
    owner could have planted a token it knows. Symbolic links are left alone and never followed. A program keeps its
    owner's execute bit (0700: the agents' `chorus` shims and launchers run from here). The task worktrees
    (`worktrees/`) hold the project's own files, as the shared checkout does: that folder is made 0700 and what is in
    it left as git made it (walking it at every start would also cost a whole checkout's stat calls)."""
    uid = os.geteuid() if uid is None else uid
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    _make_private(directory, os.stat(directory), uid, 0o700)
    for folder, names, files in os.walk(directory):
        for name in (*names, *files):
            path = Path(folder) / name
            # SQLite's -shm and -journal files come and go as other processes open and close the database.
            with contextlib.suppress(FileNotFoundError):
                info = os.lstat(path)
                if not stat.S_ISLNK(info.st_mode):
                    _make_private(path, info, uid, _private_mode(info))
        if Path(folder) == directory and WORKTREES in names:
            names.remove(WORKTREES)


WORKTREES = "worktrees"


def _private_mode(info: os.stat_result) -> int:
    return 0o700 if stat.S_ISDIR(info.st_mode) or info.st_mode & stat.S_IXUSR else 0o600


def secure_database(path: Path, *, uid: int | None = None) -> None:
    """Make the SQLite database file (mode 0600) before SQLite does (0644 under the usual umask), or tighten the
    one there and what SQLite keeps beside it. SQLite creates the -wal, -shm and -journal files with the
    database's own mode, so they stay private too; the database may live outside the data directory."""
    if str(path).startswith("file:"):
        return  # a SQLite URI (`file:...?mode=ro`): opened as it says, never created here
    uid = os.geteuid() if uid is None else uid
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_CLOEXEC, 0o600)
    try:
        _make_private(path, os.fstat(fd), uid, 0o600, fd=fd)
    finally:
        os.close(fd)
    for suffix in ("-wal", "-shm", "-journal"):
        companion = Path(f"{path}{suffix}")
        try:
            info = os.lstat(companion)
        except FileNotFoundError:
            continue
        if stat.S_ISREG(info.st_mode):
            _make_private(companion, info, uid, 0o600)


def _make_private(path: Path, info: os.stat_result, uid: int, mode: int, *, fd: int | None = None) -> None:
    if info.st_uid != uid:
        raise SystemExit(
            f"chorus: {path} belongs to {_user(info.st_uid)}, not to {_user(uid)}: refusing to start, since its "
            "owner can read Chorus's secrets or plant its own (choose another CHORUS_DATA_DIR)"
        )
    if stat.S_IMODE(info.st_mode) != mode:
        os.chmod(fd if fd is not None else path, mode)


def _user(uid: int) -> str:
    try:
        return f"{pwd.getpwuid(uid).pw_name} (uid {uid})"
    except KeyError:
        return f"uid {uid}"


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


def replace_secret(path: Path, nbytes: int = 32) -> str:
    """Put a new secret in `path` (mode 0600) and return it. Written beside it, then renamed over it: a reader sees
    the old secret or the new one, never a part, and a SecretFile notices the new file at its next look."""
    value = secrets.token_urlsafe(nbytes)
    write_private(path, (value + "\n").encode())
    return value


def write_private(path: Path, data: bytes) -> None:
    """Replace `path` atomically with a file of mode 0600 holding `data`: write a new file, then rename it."""
    partial = path.with_name(f".{path.name}.{secrets.token_hex(4)}")
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.replace(partial, path)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise


class SecretFile:
    """A secret kept in a file that another process may replace (`chorus token rotate`): read again whenever the
    file is another or has changed, so each look costs one stat. A missing, unreadable or empty file holds no
    secret (None): nothing can match it."""

    def __init__(self, path: Path):
        self.path = path
        self._stamp: tuple[int, int, int, int] | None = None
        self._value: str | None = None

    def value(self) -> str | None:
        try:
            info = os.stat(self.path)
            stamp = (info.st_dev, info.st_ino, info.st_mtime_ns, info.st_size)
            if stamp != self._stamp:
                self._value, self._stamp = self.path.read_text().strip() or None, stamp
        except OSError:
            return None
        return self._value


def login_url(host: str, port: int, token: str) -> str:
    """The URL that logs a browser in (what `start` and `token` print)."""
    shown_host = f"[{host}]" if ":" in host else host
    return f"http://{shown_host}:{port}/login/?token={token}"


def env_int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw in (None, ""):
        return default
    try:
        return int(raw)
    except ValueError:
        raise SystemExit(f"chorus: {name} must be a whole number, not {raw!r}") from None


def env_dollars(name: str) -> float | None:
    """An amount of dollars (`20`, `$12.50`); unset or empty is None (off)."""
    raw = (os.environ.get(name) or "").strip().lstrip("$")
    if not raw:
        return None
    try:
        amount = float(raw)
    except ValueError:
        amount = -1.0
    if not amount > 0 or amount == float("inf"):
        raise SystemExit(f"chorus: {name} must be an amount of dollars above 0, not {os.environ[name]!r}")
    return amount


def env_bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw in (None, ""):
        return default
    return raw.strip().lower() in ("1", "true", "yes", "on")


def bind_host() -> str:
    return os.environ.get("CHORUS_HOST", "127.0.0.1")


def port() -> int:
    return env_int("PORT", 8765)
