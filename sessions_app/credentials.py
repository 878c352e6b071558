"""Credentials of the agent tools: each session's agent gets its own, scoped to a tier, for as long as the session
runs.

The secret (32 random bytes, urlsafe) exists only in `<data dir>/agents/<session>/credential` (mode 0600, in a
directory of mode 0700, where the launch code also writes the agent's own tool configuration); the log and the
read model keep its sha256 digest. The pane's environment names the file, never the secret. A credential stops
working when it is revoked (its session ended or was restarted, or the session was given a new one): `verify`
refuses it at once, and the worker removes the session's directory once no credential of it is in force.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import os
import secrets
import shutil
from collections.abc import Iterable
from pathlib import Path

from django.conf import settings
from django.db import transaction

from events_app import store
from sessions_app import events as ev
from sessions_app import selectors
from sessions_app.errors import AgentDenied, SessionError

# Each tier allows what the ones before it do: its own session and task; reading the fleet and the project's
# documents; messaging other sessions.
SELF, FLEET_READ, FLEET_WRITE = "self", "fleet-read", "fleet-write"
TIERS = (SELF, FLEET_READ, FLEET_WRITE)
# A profile or session without agent tools: no credential is issued.
OFF = "off"
SECRET_FILE = "credential"  # noqa: S105  (the name of the file, not a secret)
# The events that start an incarnation of a session: its credential is issued just before.
STARTS = ("SessionCreated", "SessionAdopted", "SessionRestarted")


@dataclasses.dataclass(frozen=True)
class IssuedCredential:
    session: str
    tier: str
    secret: str = dataclasses.field(repr=False)
    digest: str
    # the session's agents directory (for the agent's own configuration files) and the file holding the secret
    directory: Path
    path: Path


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def allows(tier: str, needed: str) -> bool:
    """Whether a credential of `tier` may make a call that needs `needed`."""
    return tier in TIERS and TIERS.index(tier) >= TIERS.index(needed)


def root() -> Path:
    return Path(settings.DATA_DIR) / "agents"


def directory(session: str) -> Path:
    """Where the session's credential and its agent's tool configuration live."""
    if not isinstance(session, str) or not session or "/" in session or session in (".", ".."):
        raise SessionError(f"invalid session name {session!r}")
    return root() / session


def issue(session: str, tier: str) -> IssuedCredential:
    """A new credential for the session's agent, revoking the one it had; the secret is written to its file before
    this returns. Called when the session's agent is started, before its pane exists."""
    if tier not in TIERS:
        raise SessionError(f"unknown agent tools tier {tier!r}: one of {', '.join(TIERS)} (or {OFF}: no tools)")
    target = directory(session)
    secret = secrets.token_urlsafe(32)
    issued = ev.AgentCredentialIssued(tier=tier, digest=digest(secret))
    # The file is written under the log's write lock, which the worker also holds while it removes the directories
    # of sessions with no credential in force: it never removes a secret issued after it looked.
    with transaction.atomic():
        current = selectors.agent_credential(session)
        replaced = [] if current is None else [_revoked(current.digest, "replaced by a new credential")]
        store.append("agent", session, None, [*replaced, issued])
        path = _write_secret(target, secret)
    return IssuedCredential(session, tier, secret, issued.digest, target, path)


def _revoked(digest_: str, reason: str) -> ev.AgentCredentialRevoked:
    return ev.AgentCredentialRevoked(digest=digest_, reason=reason[:500])


def _write_secret(target: Path, secret: str) -> Path:
    root().mkdir(mode=0o700, parents=True, exist_ok=True)
    with contextlib.suppress(FileExistsError):
        target.mkdir(mode=0o700)
    if target.is_symlink() or not target.is_dir():
        raise SessionError(f"{target} is not a directory Chorus made; remove it")
    target.chmod(0o700)
    path = target / SECRET_FILE
    temporary = target / f".{SECRET_FILE}.new"
    temporary.unlink(missing_ok=True)
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    with os.fdopen(descriptor, "w") as file:
        file.write(secret)
    os.replace(temporary, path)
    return path


def revoke(session: str, reason: str) -> bool:
    """Revoke the session's credential in force, if it has one (its files go with it, in the worker)."""
    current = selectors.agent_credential(session)
    if current is None:
        return False
    store.append("agent", session, None, [_revoked(current.digest, reason)])
    return True


def verify(secret: str) -> tuple[str, str]:
    """The session and tier of the credential whose secret this is; AgentDenied when it is unknown, revoked, or its
    session is not live."""
    if not isinstance(secret, str) or not secret.strip():
        raise AgentDenied("no agent credential was given")
    found = selectors.agent_credential_of(digest(secret.strip()))
    if found is None:
        raise AgentDenied("unknown agent credential")
    if found.revoked_at is not None:
        raise AgentDenied(f"this agent credential was revoked: {found.revoked_reason}")
    session = selectors.session_named(found.session)
    if session is None or not session.is_live:
        state = "gone" if session is None else session.lifecycle
        raise AgentDenied(f"session {found.session} is {state}: its agent credential does not work")
    return found.session, found.tier


def in_force(session: str, digest_: str) -> None:
    """AgentDenied unless `digest_` is the session's credential in force: checked again inside each call's
    transaction, so a call and a revocation cannot overlap."""
    current = selectors.agent_credential(session)
    if current is None or current.digest != digest_:
        raise AgentDenied(f"the agent credential of session {session} was revoked")


def _started_before(session: str, position: int) -> int:
    """The position of the start of the session's incarnation that was live at `position`."""
    started = store.read(
        stream_type="session", stream_id=session, event_types=STARTS, until=position - 1, descending=True, limit=1
    )
    return next((recorded.position for recorded in started), 0)


def revoke_ended(session: str, *, ended_at: int, reason: str) -> int | None:
    """The incarnation of the session that was live at `ended_at` ended: revoke its credential. A credential issued
    after that incarnation started belongs to a start under way (a restart, racing the worker's record of the old
    pane's end) and stays: its issue position is returned, else None."""
    current = selectors.agent_credential(session)
    if current is None:
        return None
    if current.issued_position > _started_before(session, ended_at):
        return current.issued_position
    revoke(session, reason)
    return None


def files_remove(sessions: Iterable[str] | None = None) -> list[str]:
    """Remove the agents directories of these sessions (every session's when None) that have no credential in
    force; the names of those removed. A side effect for the worker: idempotent, never done on replay."""
    if sessions is None:
        sessions = sorted(p.name for p in root().iterdir() if p.is_dir()) if root().is_dir() else []
    removed = []
    for name in sessions:
        target = directory(name)
        if not target.exists():
            continue
        with store.recorder().writing():
            if selectors.agent_credential(name) is None:
                shutil.rmtree(target)
                removed.append(name)
    return removed
