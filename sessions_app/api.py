"""Sessions API: endpoints parse, call one service or selector, and serialise."""

from __future__ import annotations

from django.http import HttpRequest
from ninja import Query, Router, Status

from events_app.schemas import answers
from events_app.store import event_context
from sessions_app import agent_reports, selectors, services
from sessions_app.schemas import (
    AdoptIn,
    AnswerIn,
    AutoDispatchIn,
    HistoryQuery,
    HostOut,
    KeysIn,
    MessageIn,
    MessageOut,
    PendingOut,
    ProfileOut,
    QuestionOut,
    RecoveryOut,
    RequestOut,
    ScreenOut,
    SessionIn,
    SessionOut,
    StatusChangeOut,
)

router = Router(tags=["sessions"])
hosts_router = Router(tags=["hosts"])
requests_router = Router(tags=["requests"])


def _as(request: HttpRequest):
    return event_context(actor="api-token" if getattr(request, "chorus_bearer", False) else "browser", source="api")


@router.get("", response=answers({200: list[SessionOut]}, 422), summary="All sessions, live and ended")
def list_sessions(request: HttpRequest, live: bool = False, host: str = ""):
    return list(selectors.sessions(include_ended=not live, host=host))


@hosts_router.get("", response=answers({200: list[HostOut]}), summary="Every host: its worker online or not")
def list_hosts(request: HttpRequest):
    return selectors.hosts()


@requests_router.get(
    "", response=answers({200: list[RequestOut]}, 422), summary="Requests to hosts' workers, the latest first"
)
def list_requests(request: HttpRequest, session: str | None = None, host: str = "", open: bool = False):
    """`?open=true`: only those not finished (pending, or being carried out)."""
    return selectors.requests(session, open_only=open, host=host)


@requests_router.get("/{request_id}", response=answers({200: RequestOut}, 404), summary="One request")
def get_request(request: HttpRequest, request_id: str):
    return selectors.request(request_id)


@requests_router.post(
    "/{request_id}/cancel",
    response=answers({200: RequestOut}, 404, 409, write=True),
    summary="Withdraw a request its host's worker has not taken yet (e.g. its host is offline)",
)
def cancel_request(request: HttpRequest, request_id: str):
    with _as(request):
        return services.request_cancel(request_id)


@router.post(
    "",
    response=answers({201: SessionOut, 202: PendingOut}, 400, 404, 409, 422, write=True),
    summary="Start an agent in a new tmux session",
)
def create_session(request: HttpRequest, body: SessionIn):
    with _as(request):
        return Status(201, services.session_create(body.name, body.profile, body.subdir, body.tools, host=body.host))


@router.post(
    "/adopt",
    response=answers({201: SessionOut, 202: PendingOut}, 400, 404, 409, 422, write=True),
    summary="Take over a tmux session or pane Chorus did not start",
)
def adopt_session(request: HttpRequest, body: AdoptIn):
    with _as(request):
        return Status(201, services.session_adopt(body.target, body.name, body.profile, host=body.host))


@router.get(
    "/profiles", response=answers({200: list[ProfileOut]}, 400), summary="Agent profiles (built-in and the user's)"
)
def list_profiles(request: HttpRequest):
    return selectors.profiles()


@router.post(
    "/recover",
    response=answers({200: list[RecoveryOut], 202: PendingOut}, write=True),
    summary="Start again every session that was live when tmux or the machine went away",
)
def recover_sessions(request: HttpRequest):
    # declared before "/{name}", which would take the path as a session name and refuse POST
    with _as(request):
        outcome = services.sessions_recover()
    return [RecoveryOut(name=session.name, recovered=not failure, failure=failure) for session, failure in outcome]


@router.get("/{name}", response=answers({200: SessionOut}, 404), summary="One session")
def get_session(request: HttpRequest, name: str):
    return selectors.session(name)


@router.post(
    "/{name}/kill",
    response=answers({200: SessionOut, 202: PendingOut}, 400, 404, 409, write=True),
    summary="End the agent's process tree and its tmux session (an ended session: clean up its pane)",
)
def kill_session(request: HttpRequest, name: str):
    with _as(request):
        return services.session_kill(name)


@router.delete(
    "/{name}",
    response=answers({204: None, 202: PendingOut}, 404, 409, write=True),
    summary="Forget an ended session: its pane is cleaned up and its name is free; its history stays in the log",
)
def remove_session(request: HttpRequest, name: str):
    with _as(request):
        services.session_remove(name)
    return Status(204, None)


@router.post(
    "/{name}/restart",
    response=answers({200: SessionOut, 202: PendingOut}, 400, 404, 409, 422, write=True),
    summary="Start the agent again with the same profile",
)
def restart_session(request: HttpRequest, name: str, resume: bool = False):
    """`?resume=true`: the agent continues its conversation (409 when its profile cannot or none is recorded)."""
    with _as(request):
        return services.session_restart(name, resume=resume)


@router.post(
    "/{name}/messages",
    response=answers({202: MessageOut}, 400, 404, 409, 422, write=True),
    summary="Queue a message; typed when the agent is idle",
)
def send_message(request: HttpRequest, name: str, body: MessageIn):
    with _as(request):
        return Status(202, services.session_send(name, body.text))


@router.get(
    "/{name}/outbox",
    response=answers({200: list[MessageOut]}, 404, 422),
    summary="Messages queued or being delivered (finished=true: every one)",
)
def list_outbox(request: HttpRequest, name: str, finished: bool = False):
    return list(selectors.outbox(name, include_finished=finished))


@router.post(
    "/{name}/outbox/{message_id}/cancel",
    response=answers({200: MessageOut}, 404, 409, write=True),
    summary="Cancel a queued message",
)
def cancel_message(request: HttpRequest, name: str, message_id: str):
    with _as(request):
        return services.message_cancel(message_id, session=name)


@router.post(
    "/{name}/keys",
    response=answers({200: SessionOut, 202: PendingOut}, 400, 404, 409, 422, write=True),
    summary="Press allowlisted keys (answer a dialog)",
)
def send_keys(request: HttpRequest, name: str, body: KeysIn):
    with _as(request):
        return services.session_send_keys(name, body.keys)


@router.post(
    "/{name}/clear-input",
    response=answers({200: SessionOut, 202: PendingOut}, 404, 409, write=True),
    summary="Clear the agent's input line (a draft that holds the outbox back), with its profile's clear keys",
)
def clear_input(request: HttpRequest, name: str):
    with _as(request):
        return services.session_clear_input(name)


@router.put(
    "/{name}/auto-dispatch",
    response=answers({200: SessionOut}, 400, 404, 409, 422, write=True),
    summary="Opt the session in or out of auto-dispatch",
)
def set_auto_dispatch(request: HttpRequest, name: str, body: AutoDispatchIn):
    with _as(request):
        return services.session_set_auto_dispatch(name, body.enabled)


@router.get(
    "/{name}/history",
    response=answers({200: list[StatusChangeOut]}, 404, 422),
    summary="Status changes with their reasons, newest first",
)
def status_history(request: HttpRequest, name: str, query: Query[HistoryQuery]):
    return list(selectors.status_history(name, query.limit))


@router.get("/{name}/screen", response=answers({200: ScreenOut}, 404, 409), summary="The screen as tmux shows it now")
def screen(request: HttpRequest, name: str):
    return ScreenOut(name=name, text=services.session_screen(name))


@router.get(
    "/{name}/questions",
    response=answers({200: list[QuestionOut]}, 404, 422),
    summary="Questions its agent asked that wait for an answer (closed=true: answered and withdrawn ones too)",
)
def list_questions(request: HttpRequest, name: str, closed: bool = False):
    return list(selectors.questions(name, include_closed=closed))


@router.post(
    "/{name}/questions/answer",
    response=answers({200: QuestionOut}, 400, 404, 409, 422, write=True),
    summary="Answer its agent's question; typed to it as a message",
)
def answer_question(request: HttpRequest, name: str, body: AnswerIn):
    with _as(request):
        return agent_reports.question_answer(name, body.text, question_id=body.question_id)
