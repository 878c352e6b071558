"""Projectors of the sessions read models: sessions, their outboxes, their agents' tools and questions."""

from __future__ import annotations

from datetime import datetime

from events_app.projection import Projector, Rows, handles, register
from events_app.store import RecordedEvent
from sessions_app import events as ev
from sessions_app.models import (
    ENDED,
    KILLED,
    LIVE,
    AgentCall,
    AgentCredential,
    AgentQuestion,
    OutboxMessage,
    Session,
    SessionRequest,
    StatusChange,
)
from sessions_app.requests import KINDS

STARTING_REASON = "starting: no signal from the agent yet"


@register
class SessionProjector(Projector):
    name = "sessions"
    models = (Session, StatusChange)

    def _session(self, recorded: RecordedEvent, rows: Rows) -> Session:
        session = rows.get(Session, recorded.stream_id)
        session.version = recorded.version
        return session

    @handles(ev.SessionCreated, ev.SessionAdopted)
    def created(self, recorded: RecordedEvent, rows: Rows) -> None:
        e = recorded.event
        session = rows.get(Session, recorded.stream_id) or Session(name=e.name)
        session.profile, session.command, session.cwd = e.profile, e.command, e.cwd
        session.pane_id, session.tmux_session, session.pid = e.pane_id, e.tmux_session, e.pid
        session.host = e.host
        # An agent Chorus started boots first; an adopted pane runs already, in a state still to be seen.
        adopted = isinstance(e, ev.SessionAdopted)
        session.lifecycle, session.status_reason, session.status_rule = LIVE, "" if adopted else STARTING_REASON, ""
        session.status = "unknown" if adopted else "starting"
        session.status_since = session.created_at = recorded.recorded_at
        session.ended_at = None
        session.delivery_held = ""
        session.limit_text, session.limit_until, session.resume_at, session.conversation = "", None, None, ""
        session.adopted = adopted
        session.version = recorded.version
        rows.save(session)

    @handles(ev.SessionRestarted, ev.SessionPaneRelocated)
    def relocated(self, recorded: RecordedEvent, rows: Rows) -> None:
        session = self._session(recorded, rows)
        session.pane_id, session.pid = recorded.event.pane_id, recorded.event.pid
        if isinstance(recorded.event, ev.SessionRestarted):
            session.lifecycle, session.status, session.status_reason = LIVE, "starting", f"restarted; {STARTING_REASON}"
            session.status_since, session.ended_at, session.delivery_held = recorded.recorded_at, None, ""
            session.resume_at = None  # a new agent: the old one's limit is not its own
        rows.save(session)

    @handles(ev.SessionStatusChanged)
    def status_changed(self, recorded: RecordedEvent, rows: Rows) -> None:
        e = recorded.event
        session = self._session(recorded, rows)
        session.status, session.status_reason, session.status_rule = e.to_status, e.reason, e.rule
        session.status_since = recorded.recorded_at
        rows.save(session)
        rows.save(
            StatusChange(
                position=recorded.position,
                session=recorded.stream_id,
                from_status=e.from_status,
                to_status=e.to_status,
                reason=e.reason,
                rule=e.rule,
                signal=e.signal,
                text=e.text[:500],
                at=recorded.recorded_at,
            )
        )

    @handles(ev.SessionWaitingExplained)
    def waiting_explained(self, recorded: RecordedEvent, rows: Rows) -> None:
        session = self._session(recorded, rows)
        session.status_reason, session.status_rule = recorded.event.reason, recorded.event.rule
        rows.save(session)

    @handles(ev.SessionKilled, ev.SessionStopped)
    def ended(self, recorded: RecordedEvent, rows: Rows) -> None:
        session = self._session(recorded, rows)
        killed = isinstance(recorded.event, ev.SessionKilled)
        session.lifecycle = KILLED if killed else ENDED
        previous = session.status
        session.status = "stopped"
        session.status_reason = "killed from Chorus" if killed else recorded.event.reason
        session.status_rule = "lifecycle"
        session.status_since = session.ended_at = recorded.recorded_at
        session.delivery_held = ""
        session.resume_at = None
        rows.save(session)
        if previous != "stopped":
            rows.save(
                StatusChange(
                    position=recorded.position,
                    session=recorded.stream_id,
                    from_status=previous,
                    to_status="stopped",
                    reason=session.status_reason,
                    rule="lifecycle",
                    signal="lifecycle",
                    text="",
                    at=recorded.recorded_at,
                )
            )

    @handles(ev.SessionRemoved)
    def removed(self, recorded: RecordedEvent, rows: Rows) -> None:
        rows.delete(rows.get(Session, recorded.stream_id))
        for change in rows.filter(StatusChange, session=recorded.stream_id):
            rows.delete(change)

    @handles(ev.SessionAutoDispatchSet)
    def auto_dispatch(self, recorded: RecordedEvent, rows: Rows) -> None:
        session = self._session(recorded, rows)
        session.auto_dispatch = recorded.event.enabled
        rows.save(session)

    @handles(ev.KeysSent, ev.InputCleared)
    def keys_sent(self, recorded: RecordedEvent, rows: Rows) -> None:
        rows.save(self._session(recorded, rows))

    @handles(ev.UsageLimitReached)
    def limit_reached(self, recorded: RecordedEvent, rows: Rows) -> None:
        session = self._session(recorded, rows)
        e = recorded.event
        session.limit_text = e.text[:300]
        session.limit_until = datetime.fromisoformat(e.reset_at) if e.reset_at else None
        rows.save(session)

    @handles(ev.ResumeScheduled)
    def resume_scheduled(self, recorded: RecordedEvent, rows: Rows) -> None:
        session = self._session(recorded, rows)
        session.resume_at, session.resume_text = datetime.fromisoformat(recorded.event.at), recorded.event.text[:200]
        rows.save(session)

    @handles(ev.ResumeSent)
    def resume_sent(self, recorded: RecordedEvent, rows: Rows) -> None:
        session = self._session(recorded, rows)
        session.resume_at = None
        rows.save(session)

    @handles(ev.ConversationBound)
    def conversation_bound(self, recorded: RecordedEvent, rows: Rows) -> None:
        session = self._session(recorded, rows)
        session.conversation = recorded.event.conversation[:200]
        rows.save(session)

    @handles(ev.SessionRecovered)
    def recovered(self, recorded: RecordedEvent, rows: Rows) -> None:
        rows.save(self._session(recorded, rows))

    @handles(ev.DeliveryHeld)
    def delivery_held(self, recorded: RecordedEvent, rows: Rows) -> None:
        session = self._session(recorded, rows)
        session.delivery_held = recorded.event.reason
        rows.save(session)


@register
class OutboxProjector(Projector):
    name = "outbox"
    models = (OutboxMessage,)

    def _message(self, recorded: RecordedEvent, rows: Rows) -> OutboxMessage:
        message = rows.get(OutboxMessage, recorded.stream_id)
        message.version = recorded.version
        return message

    @handles(ev.MessageQueued)
    def queued(self, recorded: RecordedEvent, rows: Rows) -> None:
        by_agent = recorded.metadata.get("source") == "agent"
        rows.save(
            OutboxMessage(
                id=recorded.stream_id,
                session=recorded.event.session,
                text=recorded.event.text,
                queued_position=recorded.position,
                queued_at=recorded.recorded_at,
                sender=str(recorded.metadata.get("actor", ""))[:40] if by_agent else "",
                version=recorded.version,
            )
        )

    @handles(ev.DeliveryStarted)
    def started(self, recorded: RecordedEvent, rows: Rows) -> None:
        message = self._message(recorded, rows)
        message.state, message.attempts = OutboxMessage.DELIVERING, recorded.event.attempt
        rows.save(message)

    @handles(ev.PromptDelivered)
    def delivered(self, recorded: RecordedEvent, rows: Rows) -> None:
        message = self._message(recorded, rows)
        message.state, message.attempts = OutboxMessage.DELIVERED, recorded.event.attempts
        message.confirmed_by, message.finished_at = recorded.event.confirmed_by, recorded.recorded_at
        rows.save(message)

    @handles(ev.PromptDeliveryFailed)
    def failed(self, recorded: RecordedEvent, rows: Rows) -> None:
        message = self._message(recorded, rows)
        message.state, message.attempts = OutboxMessage.FAILED, recorded.event.attempts
        message.failure_reason, message.finished_at = recorded.event.reason[:500], recorded.recorded_at
        rows.save(message)

    @handles(ev.MessageCancelled)
    def cancelled(self, recorded: RecordedEvent, rows: Rows) -> None:
        message = self._message(recorded, rows)
        message.state, message.finished_at = OutboxMessage.CANCELLED, recorded.recorded_at
        rows.save(message)


@register
class AgentProjector(Projector):
    name = "agents"
    models = (AgentCredential, AgentCall)

    @handles(ev.AgentCredentialIssued)
    def issued(self, recorded: RecordedEvent, rows: Rows) -> None:
        rows.save(
            AgentCredential(
                digest=recorded.event.digest,
                session=recorded.stream_id,
                tier=recorded.event.tier,
                issued_position=recorded.position,
                issued_at=recorded.recorded_at,
            )
        )

    @handles(ev.AgentCredentialRevoked)
    def revoked(self, recorded: RecordedEvent, rows: Rows) -> None:
        credential = rows.get(AgentCredential, recorded.event.digest)
        credential.revoked_at, credential.revoked_reason = recorded.recorded_at, recorded.event.reason[:500]
        rows.save(credential)

    @handles(ev.AgentToolCalled, ev.AgentProgressReported)
    def called(self, recorded: RecordedEvent, rows: Rows) -> None:
        e = recorded.event
        progress = isinstance(e, ev.AgentProgressReported)
        rows.save(
            AgentCall(
                position=recorded.position,
                session=recorded.stream_id,
                tool="report_progress" if progress else e.tool,
                task_id=e.task_id,
                detail=(e.note if progress else e.detail)[:200],
                at=recorded.recorded_at,
            )
        )


@register
class QuestionProjector(Projector):
    name = "questions"
    models = (AgentQuestion,)

    def _question(self, recorded: RecordedEvent, rows: Rows) -> AgentQuestion:
        question = rows.get(AgentQuestion, recorded.stream_id)
        question.version = recorded.version
        return question

    @handles(ev.QuestionAsked)
    def asked(self, recorded: RecordedEvent, rows: Rows) -> None:
        e = recorded.event
        rows.save(
            AgentQuestion(
                id=recorded.stream_id,
                session=e.session,
                task_id=e.task_id,
                text=e.text,
                options=e.options,
                asked_position=recorded.position,
                asked_at=recorded.recorded_at,
                version=recorded.version,
            )
        )

    @handles(ev.QuestionAnswered)
    def answered(self, recorded: RecordedEvent, rows: Rows) -> None:
        question = self._question(recorded, rows)
        question.state, question.answer = AgentQuestion.ANSWERED, recorded.event.answer
        question.answered_by = str(recorded.metadata.get("actor", ""))[:100]
        question.answered_at, question.message_id = recorded.recorded_at, recorded.event.message_id
        rows.save(question)

    @handles(ev.QuestionWithdrawn)
    def withdrawn(self, recorded: RecordedEvent, rows: Rows) -> None:
        question = self._question(recorded, rows)
        question.state, question.withdrawn_reason = AgentQuestion.WITHDRAWN, recorded.event.reason[:500]
        rows.save(question)


@register
class SessionRequestProjector(Projector):
    name = "session_requests"
    models = (SessionRequest,)

    @handles(*KINDS)
    def requested(self, recorded: RecordedEvent, rows: Rows) -> None:
        arguments = recorded.event.to_payload()
        session, host = arguments.pop("session"), arguments.pop("host")
        rows.save(
            SessionRequest(
                id=recorded.stream_id,
                kind=KINDS[type(recorded.event)],
                session=session,
                host=host,
                arguments=arguments,
                actor=str(recorded.metadata.get("actor", ""))[:100],
                requested_position=recorded.position,
                requested_at=recorded.recorded_at,
                version=recorded.version,
            )
        )

    @handles(ev.RequestClaimed)
    def claimed(self, recorded: RecordedEvent, rows: Rows) -> None:
        request = rows.get(SessionRequest, recorded.stream_id)
        request.state, request.claimed_position, request.version = (
            SessionRequest.CLAIMED,
            recorded.position,
            recorded.version,
        )
        rows.save(request)

    @handles(ev.RequestCarried, ev.RequestFailed, ev.RequestCancelled)
    def finished(self, recorded: RecordedEvent, rows: Rows) -> None:
        request = rows.get(SessionRequest, recorded.stream_id)
        e = recorded.event
        if isinstance(e, ev.RequestCarried):
            request.state, request.detail = SessionRequest.CARRIED, e.detail
        elif isinstance(e, ev.RequestFailed):
            request.state, request.reason, request.status = SessionRequest.FAILED, e.reason[:500], e.status
        else:
            request.state, request.reason = SessionRequest.CANCELLED, e.reason[:500]
        request.finished_at, request.version = recorded.recorded_at, recorded.version
        rows.save(request)
