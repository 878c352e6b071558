"""Approval policies at work: deciding an agent's permission request (the guard list, the pause, the rules of
chorus.toml) and recording it (ApprovalDecided on the session's `approval` stream), a person's answer too; the
fleet-wide pause switch; saving the policy file from the settings page (validated first, nothing written when
invalid)."""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path

from django.conf import settings
from django.db import transaction

from events_app import store
from events_app.errors import DomainError, ReadOnly
from sessions_app import selectors as session_selectors
from sessions_app import services as session_services
from sessions_app.mirror import ESCAPES
from tasks_app import approvals, selectors
from tasks_app import events as ev
from tasks_app.errors import TaskError

PERSON, POLICY = "person", "policy"
FLEET = "fleet"


def approval_decide(request: approvals.Request, *, record: bool = True) -> approvals.Decision:
    """The decision for an agent's permission request, recorded as ApprovalDecided (unless `record` is off: a dry
    run, `chorus approvals test`). The session's task's live claims serve `within_claims` rules."""
    with transaction.atomic():
        task = selectors.task_of_session(request.session) if request.session else None
        task_claims = [claim.glob for claim in selectors.live_claims(task_id=task.id)] if task else []
        decision = approvals.decide(
            selectors.approval_policy(),
            request,
            root=Path(settings.PROJECT_ROOT),
            data_dir=Path(settings.DATA_DIR),
            task_claims=task_claims,
            paused=selectors.approvals_paused() is not None,
        )
        if record and request.session:
            _record(request.session, request.tool, request.subject, decision, POLICY, task.id if task else None)
    return decision


def approval_answer_on_screen(session: str, screen: str) -> approvals.Decision | None:
    """Answer the permission dialog on the screen of a session whose agent has no permission hook, as its profile
    reads it (Profile.permission_screen, with its dialog-option rules): allow presses the allowing option's key,
    deny the refusing one's, through the keys service (no text is typed); ask leaves it to the person. None when
    no permission dialog of its profile shows. The decision is recorded first, so a key that fails is on record."""
    current = session_selectors.session(session)
    profile = session_selectors.profile(current.profile)
    reader = profile.permission_screen
    shown = reader.read(profile.dialog, screen) if reader is not None else None
    if shown is None:
        return None
    request = approvals.Request(shown.tool, shown.command, (), current.cwd, session, current.profile)
    decision = approval_decide(request)
    key = {approvals.ALLOW: shown.allow_key, approvals.DENY: shown.deny_key}.get(decision.decision)
    if key is not None:
        with contextlib.suppress(DomainError):  # the session ended or the dialog went meanwhile: nothing to answer
            session_services.session_send_keys(session, [key])
    return decision


def approval_keys_send(session: str, keys: list[str]) -> None:
    """A person presses keys in the session's pane (the session page); when they answer the permission dialog its
    profile reads on the screen the page shows (the worker's mirror), the answer is recorded as theirs
    (ApprovalDecided, who = person): the allowing option's key as allow, the refusing one's as deny."""
    mirrored = session_selectors.screens([session]).get(session)
    shown = None
    if mirrored is not None and len(keys) == 1:
        profile = session_selectors.profile(session_selectors.session(session).profile)
        reader = profile.permission_screen
        shown = reader.read(profile.dialog, ESCAPES.sub("", mirrored.text)) if reader is not None else None
    session_services.session_send_keys(session, keys)
    if shown is None or keys[0] not in (shown.allow_key, shown.deny_key):
        return
    decision = approvals.ALLOW if keys[0] == shown.allow_key else approvals.DENY
    answer = approvals.Decision(decision, PERSON, f"the person pressed {keys[0]} on the session page")
    task = selectors.task_of_session(session)
    with transaction.atomic():
        _record(session, shown.tool, shown.command, answer, PERSON, task.id if task else None)


def _record(session: str, tool: str, subject: str, decision: approvals.Decision, who: str, task_id: int | None):
    decided = ev.ApprovalDecided(
        tool=tool[:80],
        subject=subject[:4000],
        decision=decision.decision,
        rule=decision.rule[:80],
        reason=decision.reason[:1000],
        who=who,
        task_id=task_id,
    )
    with contextlib.suppress(ReadOnly):  # read-only: decided all the same, only not recorded
        store.append("approval", session, None, [decided])


def approvals_pause(reason: str = "") -> bool:
    """Pause approval policies fleet-wide (every decision asks the person); False when already paused."""
    return _switch(True, reason or "paused by a person")


def approvals_resume(reason: str = "") -> bool:
    """Resume approval policies; False when they were not paused."""
    return _switch(False, reason or "resumed by a person")


def _switch(pause: bool, reason: str) -> bool:
    with transaction.atomic():
        if (selectors.approvals_paused() is not None) == pause:
            return False
        event = ev.ApprovalsPaused(reason=reason[:300]) if pause else ev.ApprovalsResumed(reason=reason[:300])
        store.append("approvals", FLEET, None, [event])
    return True


def approvals_policy_save(text: str) -> approvals.Policy:
    """Write the policy file (PROJECT_ROOT/chorus.toml) with `text`, validated first: TaskError naming every problem
    and nothing written when it is invalid. The file is replaced atomically (written beside it, then renamed)."""
    source = selectors.approval_policy_source()
    try:
        policy = approvals.parse(text, str(source.path))
    except approvals.BadPolicy as exc:
        raise TaskError("\n".join(exc.problems)) from None
    if settings.CHORUS_READ_ONLY:
        raise TaskError("Chorus runs read-only: the policy file is not written")
    handle, part = tempfile.mkstemp(prefix=".chorus-", suffix=".toml", dir=source.path.parent)
    with os.fdopen(handle, "w", encoding="utf-8") as out:
        out.write(text)
    os.replace(part, source.path)
    return policy
