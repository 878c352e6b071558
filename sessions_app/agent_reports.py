"""The session side of the agent tools: each call recorded and counted against the session's rate limit, progress
reports, and the questions an agent asks a person with their answers.

The tasks facade (tasks_app.services.agent) calls `call_record` or `progress_report` first in the transaction of
each call, so a refused call (revoked, too fast, or refused by what it asks) writes nothing at all. An answer reaches
the agent as one queued message through its outbox: typed when the agent is idle, exactly once, confirmed like any
delivery; so no request is held open while a person thinks.
"""

from __future__ import annotations

import dataclasses
import math
import uuid
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from events_app import store
from events_app.domain import DomainEvent
from events_app.store import ConcurrencyError
from sessions_app import credentials, selectors, services
from sessions_app import events as ev
from sessions_app.errors import RateLimited, SessionConflict, SessionError, UnknownSession
from sessions_app.models import AgentQuestion


@dataclasses.dataclass(frozen=True)
class Limits:
    """What one call may carry, in characters (options: how many), in one place for every tool and twin."""

    note: int = 2_000
    summary: int = 5_000
    reason: int = 2_000
    question: int = 2_000
    option: int = 200
    options: int = 10
    message: int = 20_000
    answer: int = 20_000
    # the line on each call in the session's list of calls
    detail: int = 200
    # how many tasks list_tasks returns at most
    listed: int = 200


LIMITS = Limits()


def rate_limit() -> tuple[int, float]:
    """At most this many calls per session within this many seconds (CHORUS_AGENT_MAX_CALLS, ..._CALL_SECONDS)."""
    return (
        getattr(settings, "CHORUS_AGENT_MAX_CALLS", 60),
        float(getattr(settings, "CHORUS_AGENT_CALL_SECONDS", 60.0)),
    )


def checked_text(what: str, value: object, limit: int) -> str:
    """`value` stripped, if it is text of 1..limit characters; SessionError (400) saying which limit otherwise."""
    if not isinstance(value, str):
        raise SessionError(f"the {what} must be text")
    text = value.strip()
    if not text:
        raise SessionError(f"the {what} is empty")
    if len(text) > limit:
        raise SessionError(f"the {what} has {len(text):,} characters; the limit is {limit:,}")
    return text


def checked_options(options: object) -> list[str]:
    if options is None:
        return []
    if isinstance(options, str) or not isinstance(options, list | tuple):
        raise SessionError("the options are a list of texts")
    if len(options) > LIMITS.options:
        raise SessionError(f"a question offers at most {LIMITS.options} options, not {len(options)}")
    cleaned = [checked_text("option", option, LIMITS.option) for option in options]
    if len(set(cleaned)) != len(cleaned):
        raise SessionError("the options must differ from each other")
    return cleaned


def _one_line(text: str) -> str:
    line = " ".join(text.split())
    return line if len(line) <= LIMITS.detail else line[: LIMITS.detail - 1] + "…"


def retry_after(times: list[datetime], now: datetime, limit: int, seconds: float) -> int | None:
    """Seconds (at least 1) until one more call fits in the limit, given the times of the calls made in the last
    `seconds` (oldest first); None when it fits now."""
    if len(times) < limit:
        return None
    return max(1, math.ceil((times[-limit] + timedelta(seconds=seconds) - now).total_seconds()))


def _record(session: str, credential: str, events: list[DomainEvent]) -> int:
    """Append a call's events to the session's agent stream, if its credential is still in force and the call is
    within the rate limit; the position of the first."""
    limit, seconds = rate_limit()
    # Checked and counted under the write lock the transaction holds from its start (BEGIN IMMEDIATE): a call and
    # a revocation cannot overlap, and two processes' calls cannot both take the last place.
    with transaction.atomic():
        credentials.in_force(session, credential)
        now = timezone.now()
        times = selectors.agent_call_times(session, now - timedelta(seconds=seconds))
        wait = retry_after(times, now, limit, seconds)
        if wait is not None:
            raise RateLimited(
                f"session {session} made {len(times)} calls of its agent tools in the last {seconds:g} s; the limit "
                f"is {limit}: try again in {wait} s"
            )
        return store.append("agent", session, None, events)[0].position


def call_record(session: str, credential: str, *, tool: str, task_id: int | None = None, detail: str = "") -> int:
    """Record one call of `tool` by the session's agent (RateLimited, AgentDenied: nothing written); the position
    of its event."""
    return _record(session, credential, [ev.AgentToolCalled(tool=tool, task_id=task_id, detail=_one_line(detail))])


def progress_report(session: str, credential: str, *, task_id: int | None, note: str) -> int:
    """report_progress: the note (checked by the caller) on the session's task, if it has one."""
    return _record(session, credential, [ev.AgentProgressReported(task_id=task_id, note=note)])


def question_ask(session: str, *, text: str, options: list[str], task_id: int | None) -> AgentQuestion:
    """A new open question of the session's agent (text and options checked by the caller)."""
    question_id = f"q-{uuid.uuid4().hex[:12]}"
    asked = ev.QuestionAsked(session=session, text=text, options=options, task_id=task_id)
    store.append("question", question_id, 0, [asked])
    return selectors.question(question_id)


def _open_question(session: str, question_id: str | None) -> AgentQuestion:
    if question_id is None:
        found = selectors.questions(session).first()
        if found is None:
            raise SessionConflict(f"session {session} has no open question")
        return found
    found = selectors.question(question_id)
    if found.session != session:
        raise UnknownSession(f"session {session} has no question {question_id!r}")
    if found.state == AgentQuestion.ANSWERED:
        raise SessionConflict(f"question {found.id} was already answered by {found.answered_by or 'someone'}")
    if found.state == AgentQuestion.WITHDRAWN:
        raise SessionConflict(f"question {found.id} was withdrawn: {found.withdrawn_reason}")
    return found


def question_answer(session: str, answer: str, *, question_id: str | None = None) -> AgentQuestion:
    """A person's answer to the session's question (its oldest open one when `question_id` is None): recorded, and
    queued for the agent as one message in the same transaction. Two people answering at once: one wins."""
    answer = checked_text("answer", answer, LIMITS.answer)
    question = _open_question(session, question_id)
    with transaction.atomic():
        message = services.session_send(session, f"Answer to your question ({question.id}): {answer}")
        answered = ev.QuestionAnswered(answer=answer, message_id=message.id)
        try:
            store.append("question", question.id, question.version, [answered])
        except ConcurrencyError:
            raise SessionConflict(f"question {question.id} was answered meanwhile") from None
    return selectors.question(question.id)


def questions_withdraw(session: str, *, before: int, reason: str) -> None:
    """Withdraw the session's open questions asked before position `before`: the agent that asked them is gone."""
    for question in selectors.questions(session).filter(asked_position__lt=before):
        store.append("question", question.id, question.version, [ev.QuestionWithdrawn(reason=reason[:500])])
