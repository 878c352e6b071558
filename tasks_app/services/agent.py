"""The agent facade: what a session's agent may do through its Chorus tools, one function per tool, serving both the
MCP server (chorus_site.mcp) and the command-line twins (`chorus agent ...`), which stay thin.

A caller is authenticated once per request from its credential (sessions_app.credentials). Each call then checks,
in this order and before anything is written: the tier the tool needs (Forbidden, 403), its input against the
limits (sessions_app.agent_reports.LIMITS, 400), and, inside the call's one transaction, that the credential is
still in force (AgentDenied, 401) and that the session is within its rate limit (RateLimited, 429); then what the
call changes, refused as NotFound or Conflict with nothing written. Every call is recorded on the session's `agent`
stream, with the session as actor and `agent` as source, like everything the call appends.
"""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import Iterator

from django.db import transaction

from documents_app import selectors as document_selectors
from events_app.store import ConcurrencyError, event_context
from sessions_app import agent_reports, credentials
from sessions_app import selectors as session_selectors
from sessions_app import services as session_services
from sessions_app.agent_reports import LIMITS, checked_options, checked_text
from sessions_app.errors import Forbidden
from tasks_app import anchoring, documents, selectors
from tasks_app import events as ev
from tasks_app.agent_schemas import (
    Ack,
    Asked,
    ClaimBrief,
    ClaimList,
    CurrentTask,
    DocumentLine,
    DocumentText,
    EditDecision,
    NextTask,
    ReferenceText,
    Sent,
    SessionBrief,
    SessionList,
    TaskBrief,
    TaskList,
    WhoAmI,
)
from tasks_app.approvals import Request
from tasks_app.errors import TaskConflict, TaskError
from tasks_app.git import git_head
from tasks_app.models import Reference, Task
from tasks_app.services import approvals, claims
from tasks_app.services.assignment import LimitReached, NotAnAgent, SessionBusy, task_assign, task_pull
from tasks_app.services.stream import append, check_transition
from tasks_app.services.tasks import task_create


@dataclasses.dataclass(frozen=True)
class AgentCaller:
    """Who calls: the session whose credential came with the request, its profile, its tier and its session's
    host (the one whose worker runs its pane, wherever the web server answering it is)."""

    session: str
    profile: str
    tier: str
    host: str
    # the credential's digest, checked again inside each call's transaction (a revocation stops it at once)
    digest: str = dataclasses.field(repr=False)


def authenticate(credential: str) -> AgentCaller:
    """The caller a credential stands for; AgentDenied (401) when it is missing, unknown or revoked, or its
    session is not live."""
    session, tier = credentials.verify(credential)
    found = session_selectors.session(session)
    return AgentCaller(session, found.profile, tier, found.host, credentials.digest(credential.strip()))


def _allow(caller: AgentCaller, tool: str, needed: str) -> None:
    if not credentials.allows(caller.tier, needed):
        raise Forbidden(
            f"{tool} needs the {needed} tier; the agent tools of session {caller.session} have {caller.tier}"
        )


@contextlib.contextmanager
def _call(caller: AgentCaller, tool: str, needed: str = credentials.SELF) -> Iterator[None]:
    """One call: its tier checked, then one transaction appending as the session, through its tools."""
    _allow(caller, tool, needed)
    with event_context(actor=caller.session, source="agent"), transaction.atomic():
        yield


def _record(caller: AgentCaller, tool: str, task: Task | None = None, detail: str = "") -> None:
    agent_reports.call_record(
        caller.session, caller.digest, tool=tool, task_id=task.id if task else None, detail=detail
    )


def _task(caller: AgentCaller) -> Task | None:
    return selectors.task_of_session(caller.session)


def _own_task(caller: AgentCaller, task_id: int | None) -> Task:
    """The caller's task at work; when the agent names one (`task_id`), it must be that one."""
    task = _task(caller)
    if task_id is not None:
        named = selectors.task(task_id)
        if task is None or task.id != named.id:
            where = f"{named.status}, with session {named.session}" if named.session else named.status
            raise TaskConflict(f"task {named.id} is not the task of session {caller.session} (it is {where})")
    if task is None:
        raise TaskConflict(f"session {caller.session} has no task at work (assigned or in progress)")
    return task


def _acked(task: Task, message: str) -> Ack:
    return Ack(message=message, task_id=task.id, status=task.status)


# --- self: the caller's own session and task -----------------------------------------------------------------------


def whoami(caller: AgentCaller) -> WhoAmI:
    with _call(caller, "whoami"):
        task = _task(caller)
        _record(caller, "whoami", task)
    return WhoAmI(
        session=caller.session,
        profile=caller.profile,
        host=caller.host,
        tier=caller.tier,
        task_id=task.id if task else None,
    )


def _reference_now(reference: Reference, cache: dict[str, list[str] | None]) -> ReferenceText:
    """The reference's text as its document holds it now: where its snapshot is found (moved or not), or, when
    its text changed, the lines most likely to be it (stale); missing when the document is gone."""
    if reference.path not in cache:
        try:
            cache[reference.path] = documents.read_lines(reference.path)
        except documents.DocumentUnavailable:
            cache[reference.path] = None
    lines = cache[reference.path]
    state, start, end, text = Reference.MISSING, reference.start, reference.end, ""
    if lines is not None:
        found = anchoring.locate(reference.snapshot, lines, reference.start)
        state = Reference.STALE if found.kind == anchoring.CHANGED else Reference.CURRENT
        start, end, text = found.start, found.end, found.text
    return ReferenceText(
        id=reference.id,
        path=reference.path,
        start=start,
        end=end,
        state=state,
        stale=state == Reference.STALE,
        missing=state == Reference.MISSING,
        text=text,
    )


def current_task(caller: AgentCaller) -> CurrentTask | None:
    """The caller's task at work with the text of its references now, or None when it has none."""
    with _call(caller, "current_task"):
        task = _task(caller)
        _record(caller, "current_task", task)
    if task is None:
        return None
    cache: dict[str, list[str] | None] = {}
    return CurrentTask(
        id=task.id,
        title=task.title,
        description=task.description,
        status=task.status,
        priority=task.priority,
        labels=task.labels,
        references=[_reference_now(reference, cache) for reference in selectors.references(task.id)],
    )


def report_progress(caller: AgentCaller, *, note: str, task_id: int | None = None) -> Ack:
    """A note on the caller's task's timeline (also without a task: on its session's list of calls); the session
    counts as busy at that moment (sessions_app.detection)."""
    note = checked_text("note", note, LIMITS.note)
    with _call(caller, "report_progress"):
        task = _own_task(caller, task_id) if task_id is not None else _task(caller)
        agent_reports.progress_report(caller.session, caller.digest, task_id=task.id if task else None, note=note)
    if task is None:
        return Ack(message="noted (you have no task at work: the note is on your session only)")
    return _acked(task, f"noted on task {task.id}")


def finish_task(caller: AgentCaller, *, summary: str, task_id: int | None = None) -> Ack:
    """The caller's task goes to review at once, with its summary."""
    summary = checked_text("summary", summary, LIMITS.summary)
    head = git_head(_task(caller))
    with _call(caller, "finish_task"):
        task = _own_task(caller, task_id)
        _record(caller, "finish_task", task, summary)
        check_transition(task, "finished")
        task = append(task, task.version, [ev.TaskFinished(summary=summary, git_head=head)])
    return _acked(task, f"task {task.id} is in review: a person decides")


def fail_task(caller: AgentCaller, *, reason: str, task_id: int | None = None) -> Ack:
    """The caller's task fails at once, with its reason."""
    reason = checked_text("reason", reason, LIMITS.reason)
    head = git_head(_task(caller))
    with _call(caller, "fail_task"):
        task = _own_task(caller, task_id)
        _record(caller, "fail_task", task, reason)
        check_transition(task, "marked failed")
        task = append(task, task.version, [ev.TaskFailed(reason=reason, git_head=head)])
    return _acked(task, f"task {task.id} failed")


def ask_human(caller: AgentCaller, *, question: str, options: list[str] | None = None) -> Asked:
    """An open question for a person; the session shows waiting until it is answered, and the answer comes to the
    agent as a message (sessions_app.agent_reports.question_answer)."""
    text = checked_text("question", question, LIMITS.question)
    choices = checked_options(options)
    with _call(caller, "ask_human"):
        task = _task(caller)
        _record(caller, "ask_human", task, text)
        task_id = task.id if task else None
        asked = agent_reports.question_ask(caller.session, text=text, options=choices, task_id=task_id)
    return Asked(
        question_id=asked.id,
        question=asked.text,
        options=asked.options,
        message=f"asked ({asked.id}); the answer will come as a message typed into your input: end your turn",
    )


def next_task(caller: AgentCaller) -> NextTask | None:
    """Claim the most urgent ready task whose dependencies are done, as dispatch would give it (the same slot
    rules, CHORUS_MAX_ACTIVE_TASKS); its prompt comes back and it is in progress at once. None when none is ready;
    SessionBusy while the caller still has a task, LimitReached at the limit."""
    with _call(caller, "next_task"):
        current = _task(caller)
        _record(caller, "next_task", current)
        if current is not None:
            raise SessionBusy(
                f"session {caller.session} is already working on task {current.id}: finish_task or fail_task first"
            )
        session = session_selectors.session_named(caller.session)
        if session is not None and not session_selectors.is_agent(session.profile):
            raise NotAnAgent(
                f"session {caller.session} runs {session.profile}, which is not an agent: next_task is for agents"
            )
        if selectors.dispatch_pause() is not None:
            return None  # a budget pauses dispatch: no task for anyone until a person resumes it
        candidates = list(selectors.dispatchable_tasks())
        waiting = selectors.blocked_by(candidates)
        for candidate in candidates:
            if waiting[candidate.id]:
                continue
            try:
                task = task_pull(candidate.id, caller.session, expected_version=candidate.version)
            except (SessionBusy, LimitReached):
                raise
            except (ConcurrencyError, TaskError):
                continue  # changed meanwhile, or cannot go now (a stale reference): the next one
            prompt = selectors.dispatches(task.id, limit=1)[0].prompt
            return NextTask(id=task.id, title=task.title, status=task.status, prompt=prompt)
    return None


# --- path claims: what the caller's task holds, and the check before an edit ------------------------------------


def _claim_list(caller: AgentCaller, task: Task | None, message: str) -> ClaimList:
    return ClaimList(
        message=message,
        claims=[
            ClaimBrief(
                glob=claim.glob,
                task_id=claim.task_id,
                session=claim.session,
                source=claim.source,
                reason=claim.reason,
                yours=task is not None and claim.task_id == task.id,
            )
            for claim in selectors.live_claims()
        ],
    )


def claim_paths(caller: AgentCaller, *, paths: list[str], reason: str) -> ClaimList:
    """Claim more paths (globs relative to the project's root) for the caller's task at work, held until the task
    leaves work and review; refused, naming the holder, when one overlaps another task's claim."""
    reason = checked_text("reason", reason, LIMITS.reason)
    globs = claims.checked_globs(paths)
    with _call(caller, "claim_paths"):
        task = _own_task(caller, None)
        _record(caller, "claim_paths", task, ", ".join(globs))
        taken = claims.claims_take(task, caller.session, globs, source="agent", reason=reason)
    held = ", ".join(globs) if taken else "nothing new (your task holds them already)"
    return _claim_list(caller, task, f"claimed for task {task.id}: {held}")


def release_paths(caller: AgentCaller, *, paths: list[str]) -> ClaimList:
    """Release claims the caller's task holds (the patterns as list_claims shows them)."""
    globs = claims.checked_globs(paths)
    with _call(caller, "release_paths"):
        task = _own_task(caller, None)
        _record(caller, "release_paths", task, ", ".join(globs))
        claims.claims_release(task.id, globs, reason=f"released by {caller.session}")
    return _claim_list(caller, task, f"released for task {task.id}: {', '.join(globs)}")


def list_claims(caller: AgentCaller) -> ClaimList:
    """Every live claim of the project, with its task and session; yours marked."""
    with _call(caller, "list_claims"):
        task = _task(caller)
        _record(caller, "list_claims", task)
    return _claim_list(caller, task, f"{len(selectors.live_claims())} live claim(s)")


def pre_edit(caller: AgentCaller, *, payload: object) -> EditDecision | None:
    """The answer to the caller's agent's pre-edit hook (`payload`: the hook's input, read by the session profile's
    self-report plug-in): may its file tool change that file? None when the payload asks about no file change.
    Asked by the agent's hook, not by the agent, so not counted against its rate limit; nothing is written unless
    the edit is refused (EditDenied) or its path auto-claimed (CHORUS_CLAIMS_AUTO)."""
    plugin = session_selectors.profile(caller.profile).self_report
    asked = plugin.edit_request(payload) if plugin is not None else None
    if asked is None:
        return None
    paths = claims.project_paths(checked_text("path", asked.path, claims.PATH_MAX), asked.cwd)
    with event_context(actor=caller.session, source="agent"), transaction.atomic():
        credentials.in_force(caller.session, caller.digest)
        verdict = claims.edit_check(caller.session, asked.tool[:40], paths)
    return EditDecision(
        allowed=verdict.allowed,
        message=verdict.message,
        claimed=verdict.claimed,
        answer="" if verdict.allowed else plugin.edit_refusal(verdict.message),
    )


def permission(caller: AgentCaller, *, payload: object) -> str:
    """What the caller's agent's permission hook prints (`payload`: the hook's input, read by the session profile's
    self-report plug-in): the approval policy's allow or deny with its reason, or nothing (ask: the dialog opens for
    the person). Every decision is recorded (ApprovalDecided); a payload that asks nothing is answered with nothing."""
    plugin = session_selectors.profile(caller.profile).self_report
    asked = plugin.permission_request(payload) if plugin is not None else None
    if asked is None:
        return ""
    command = checked_text("command", asked.command, LIMITS.message) if asked.command else ""
    files = tuple(checked_text("path", path, claims.PATH_MAX) for path in asked.files)
    request = Request(asked.tool[:80], command, files, asked.cwd, caller.session, caller.profile)
    with event_context(actor=caller.session, source="agent"), transaction.atomic():
        credentials.in_force(caller.session, caller.digest)
        decision = approvals.approval_decide(request)
    return plugin.permission_answer(decision.decision, f"Chorus approval policy ({decision.rule}): {decision.reason}")


def pre_commit(caller: AgentCaller, *, top: str, names: list[str]) -> list[str]:
    """The refusals (none: the commit may go) of a commit by the caller's agent staging `names` (relative to the
    repository's top-level directory `top`): asked by the pre-commit guard (`tasks install-pre-commit`)."""
    files = [claims.project_paths(checked_text("path", name, claims.PATH_MAX), top) for name in names]
    with event_context(actor=caller.session, source="agent"), transaction.atomic():
        credentials.in_force(caller.session, caller.digest)
        return [verdict.message for verdict in claims.commit_check(caller.session, files)]


# --- fleet: other sessions and the project's documents ----------------------------------------------------------


def send_message(caller: AgentCaller, *, session: str, text: str) -> Sent:
    """A message for another session's agent through its outbox, typed when it is idle; the caller is recorded as
    its sender (and named at its start, so the agent that reads it knows whom to answer)."""
    with _call(caller, "send_message", credentials.FLEET_WRITE):
        text = checked_text("message", text, LIMITS.message)
        if session == caller.session:
            raise TaskError("send_message is for another session; your own notes go to report_progress")
        _record(caller, "send_message", detail=f"to {session}: {text}")
        message = session_services.session_send(session, f"Message from session {caller.session}: {text}")
    return Sent(message_id=message.id, session=session, message=f"queued for {session}: typed when it is idle")


def read_document(caller: AgentCaller, *, path: str, start: int | None = None, end: int | None = None) -> DocumentText:
    """Lines `start`..`end` (the whole document by default) of a recorded document inside PROJECT_ROOT, as its
    file holds them now: confined as the document viewer is."""
    with _call(caller, "read_document", credentials.FLEET_READ):
        try:
            name = documents.normalise(path)
        except documents.DocumentUnavailable as exc:
            raise TaskError(str(exc)) from None
        lines = "" if start is None and end is None else f" {start or 1}-{end or 'end'}"
        _record(caller, "read_document", detail=f"{name}{lines}")
        excerpt = document_selectors.document_excerpt(name, start, end)
    return DocumentText(
        path=excerpt.document.path,
        start=excerpt.start,
        end=excerpt.end,
        line_count=excerpt.line_count,
        lines=[DocumentLine(number=line.number, text=line.text) for line in excerpt.lines],
    )


def list_sessions(caller: AgentCaller) -> SessionList:
    """The live sessions, with their status, why, and the task each works on."""
    with _call(caller, "list_sessions", credentials.FLEET_READ):
        _record(caller, "list_sessions")
        at_work = {task.session: task.id for task in selectors.tasks_at_work()}
        found = session_selectors.sessions(include_ended=False)
    return SessionList(
        sessions=[
            SessionBrief(
                name=s.name, profile=s.profile, status=s.status, reason=s.status_reason, task_id=at_work.get(s.name)
            )
            for s in found
        ]
    )


def _briefs(tasks: list[Task]) -> list[TaskBrief]:
    blocked = selectors.blocked_by(tasks)
    return [
        TaskBrief(
            id=t.id,
            title=t.title,
            status=t.status,
            priority=t.priority,
            labels=t.labels,
            session=t.session,
            blocked_by=blocked[t.id],
        )
        for t in tasks
    ]


def list_tasks(caller: AgentCaller, *, status: str | None = None, label: str | None = None) -> TaskList:
    """The tasks not archived, most urgent first, optionally of one status or label (at most LIMITS.listed)."""
    with _call(caller, "list_tasks", credentials.FLEET_READ):
        _record(
            caller, "list_tasks", detail=" ".join(f"{k}={v}" for k, v in (("status", status), ("label", label)) if v)
        )
        found = list(selectors.tasks(status=status, label=label)[: LIMITS.listed])
    return TaskList(tasks=_briefs(found))


def create_task(
    caller: AgentCaller,
    *,
    title: str,
    description: str = "",
    priority: int = 0,
    labels: list[str] | None = None,
    references: list[str] | None = None,
    depends_on: list[int] | None = None,
) -> TaskBrief:
    """A new ready task, as a person would add it: references as `path:start-end`, dependencies by number."""
    with _call(caller, "create_task", credentials.FLEET_WRITE):
        _record(caller, "create_task", detail=title)
        task = task_create(
            title,
            description,
            priority=priority,
            labels=labels or (),
            references=references or (),
            depends_on=depends_on or (),
        )
    return _briefs([task])[0]


def assign_task(caller: AgentCaller, *, task_id: int, session: str) -> Ack:
    """Send a ready task's prompt to a session (queued while it is busy), as a person's assignment would."""
    with _call(caller, "assign_task", credentials.FLEET_WRITE):
        task = selectors.task(task_id)
        _record(caller, "assign_task", task, detail=f"to {session}")
        assigned = task_assign(task.id, session, expected_version=task.version, via="handoff")
    return _acked(assigned, f"task {assigned.id} is assigned to {session}: its prompt is queued there")
