"""Chorus's MCP server at /mcp/: the tools an agent calls about its own session and task, for every agent at once.

Streamable HTTP served by the Chorus web server itself, with the official `mcp` SDK (its FastMCP, named MCPServer
since mcp 2), stateless and answering in JSON: one server for every agent, no process per agent, and no request
held open (an answer to `ask_human` comes later as a message). Every request is authenticated by the session's own
credential (`Authorization: Bearer ...`) before the SDK sees it, its Host and Origin are checked like the rest of
the site's, and its body is bounded. Each tool is a thin entry point: it calls one function of the agent facade
(tasks_app.services.agent) with the caller, and a domain error becomes a tool error carrying its message.
"""

from __future__ import annotations

import asyncio
import contextvars
import typing
from collections.abc import Callable
from typing import Annotated, Any
from urllib.parse import urlsplit

from channels.db import database_sync_to_async
from django.conf import settings
from django.http.request import validate_host
from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp.server.transport_security import TransportSecuritySettings
from mcp_types import ToolAnnotations
from pydantic import Field
from starlette.datastructures import Headers
from starlette.responses import JSONResponse

from chorus_site.auth import bearer_token, origin_allowed
from events_app.errors import DomainError

# The key under which an authenticated request's scope carries its caller (the facade's AgentCaller).
CALLER = "chorus.agent_caller"

INSTRUCTIONS = (
    "Chorus runs you in a terminal session it watches, with a person in charge. These tools tell Chorus about "
    "your work directly: take your task (current_task, next_task), report progress, finish or fail it with your "
    "own words, and ask the person when you are stuck. Claim the paths your task will change (claim_paths) before "
    "you edit them: another task's claimed paths are refused. The same actions exist as shell commands (`chorus "
    "agent whoami|task|progress|finish|fail|ask|next|send|read|claim-paths|release-paths|list-claims`) for when "
    "these tools are unavailable."
)

READS = ToolAnnotations(readOnlyHint=True, openWorldHint=False)
WRITES = ToolAnnotations(readOnlyHint=False, destructiveHint=False, idempotentHint=False, openWorldHint=False)


class AgentEndpoint:
    """The ASGI application at /mcp/: checks, authenticates, then hands the request to the SDK's transport.

    `facade` provides authenticate(credential) -> caller and, for each tool, a function of (caller, **arguments)
    returning a pydantic schema; its errors are events_app.errors kinds (authenticate's: AgentDenied, 401)."""

    def __init__(self, facade: Any):
        self.facade = facade
        self.server = agent_server(facade)
        # Our checks run before the SDK's: its Host/Origin allowlist is off, its content-type check and body
        # limit stay (the limit is the site's own, CHORUS_MAX_REQUEST_BYTES).
        self.server.streamable_http_app(
            stateless_http=True,
            json_response=True,
            max_request_body_size=settings.DATA_UPLOAD_MAX_MEMORY_SIZE,
            transport_security=TransportSecuritySettings(enable_dns_rebinding_protection=False),
        )
        self.manager = self.server.session_manager
        self._running: asyncio.Future | None = None

    async def __call__(self, scope, receive, send) -> None:
        refusal = request_refusal(scope)
        if refusal is not None:
            return await JSONResponse({"detail": refusal[1]}, status_code=refusal[0])(scope, receive, send)
        credential = bearer_token(Headers(scope=scope).get("authorization"))
        if not credential:
            detail = "no credential: send Authorization: Bearer <the session's credential>"
            return await JSONResponse({"detail": detail}, status_code=401)(scope, receive, send)
        try:
            caller = await database_sync_to_async(self.facade.authenticate)(credential)
        except DomainError as exc:
            return await JSONResponse({"detail": str(exc)}, status_code=exc.status)(scope, receive, send)
        await self._started()
        await self.manager.handle_request({**scope, CALLER: caller}, receive, send)
        return None

    async def _started(self) -> None:
        """Start the SDK's session manager on the first request, in a task of its own that lives as long as the
        event loop: daphne sends no ASGI lifespan events, where it would otherwise be started."""
        if self._running is None:
            ready = asyncio.get_running_loop().create_future()
            self._running = ready
            # A context of its own: the manager's task must not inherit the first request's context variables.
            asyncio.get_running_loop().create_task(self._run(ready), context=contextvars.Context())
        await asyncio.shield(self._running)

    async def _run(self, ready: asyncio.Future) -> None:
        try:
            async with self.manager.run():
                ready.set_result(None)
                await asyncio.Event().wait()
        except BaseException as exc:
            if not ready.done():
                ready.set_exception(exc)
            raise


def request_refusal(scope) -> tuple[int, str] | None:
    """(status, reason) when the request must not reach the tools: a Host the site does not serve (DNS rebinding)
    or an Origin other than the site's own (a page elsewhere in the person's browser)."""
    headers = Headers(scope=scope)
    if "origin" in headers:
        if not origin_allowed(scope):
            return 403, "cross-origin requests are refused: MCP clients are programs, not web pages"
        return None
    hostname = urlsplit(f"//{headers.get('host', '')}").hostname or ""
    if not hostname or not validate_host(hostname if ":" not in hostname else f"[{hostname}]", settings.ALLOWED_HOSTS):
        return 400, "this Host is not served here"
    return None


def returns(action: Callable) -> Any:
    """The schema a facade function returns: a tool's result is published and validated as that."""
    return typing.get_type_hints(action)["return"]


async def call(ctx: Context, action: Callable, **arguments) -> Any:
    """Run one facade function for the authenticated caller of this request; a domain error becomes a tool error
    with its message (the agent reads it, nothing was written), anything else the SDK's generic tool error."""
    caller = ctx.request_context.request.scope[CALLER]
    try:
        return await database_sync_to_async(action)(caller, **arguments)
    except DomainError as exc:
        raise ToolError(str(exc)) from None


Note = Annotated[str, Field(description="What you did and what comes next, in a sentence or two.")]
Summary = Annotated[
    str, Field(description="What you changed, where, and how you checked it: the evidence a reviewer reads.")
]
Reason = Annotated[str, Field(description="Why the task cannot be done: what you tried and what stands in the way.")]
Question = Annotated[str, Field(description="The question, complete enough to answer without reading your screen.")]
Options = Annotated[
    list[str] | None,
    Field(description="The possible answers when it is a choice (each becomes a button); omit for a free answer."),
]
SessionName = Annotated[str, Field(description="The name of the session to send the message to.")]
MessageText = Annotated[str, Field(description="The message, typed into that agent's input when it is idle.")]
DocumentPath = Annotated[str, Field(description="The document's path relative to the project's root.")]
Line = Annotated[int | None, Field(description="A line number (1-based, inclusive); omit for the whole document.")]
Status = Annotated[
    str | None, Field(description="Only tasks of this status (backlog, ready, assigned, in_progress, review, ...).")
]
Label = Annotated[str | None, Field(description="Only tasks with this label.")]
Title = Annotated[str, Field(description="What is to be done, in a line.")]
Description = Annotated[str, Field(description="What done looks like and anything a newcomer needs (Markdown).")]
Priority = Annotated[int, Field(description="Higher goes first; 0 is the default.")]
Labels = Annotated[list[str] | None, Field(description="Labels to file it under.")]
References = Annotated[
    list[str] | None,
    Field(description="Line ranges of the project's documents that are its context, each as path:start-end."),
]
DependsOn = Annotated[list[int] | None, Field(description="Tasks that must be done before this one, by number.")]
AssignedTask = Annotated[int, Field(description="The number of the task to hand over.")]
AssigneeName = Annotated[str, Field(description="The name of the session to give it to.")]
Paths = Annotated[
    list[str],
    Field(description="Globs relative to the project's root: src/api/** (a directory and all beneath), *.md, a/b.py."),
]
ClaimReason = Annotated[str, Field(description="Why your task needs these paths, in a sentence.")]
TaskId = Annotated[
    int | None, Field(description="The id of the task you mean, checked to be yours; omit for your current task.")
]


def agent_server(facade: Any) -> MCPServer:
    """The MCP server with Chorus's tools, each calling one function of `facade`."""
    server = MCPServer("chorus", instructions=INSTRUCTIONS)

    def tool(action: Callable, annotations: ToolAnnotations):
        def register(fn: Callable) -> Callable:
            fn.__annotations__["return"] = returns(action)
            server.add_tool(fn, description=fn.__doc__, annotations=annotations)
            return fn

        return register

    @tool(facade.whoami, READS)
    async def whoami(ctx: Context):
        """Who you are to Chorus: your session's name, profile, host, tool tier and the id of the task you are
        working on (null when you have none)."""
        return await call(ctx, facade.whoami)

    @tool(facade.current_task, READS)
    async def current_task(ctx: Context):
        """Your current task: its title, its description and the text of each of its references as the files hold
        it now, each flagged when it changed since the task was written (stale) or is gone (missing). Null when
        you have no task. Call it before you start, and again after a long pause."""
        return await call(ctx, facade.current_task)

    @tool(facade.report_progress, WRITES)
    async def report_progress(note: Note, ctx: Context, task_id: TaskId = None):
        """Add a short progress note to your task's timeline, for the person following it: call it at milestones
        (a step done, a change of plan), not for every command."""
        return await call(ctx, facade.report_progress, note=note, task_id=task_id)

    @tool(facade.finish_task, WRITES)
    async def finish_task(summary: Summary, ctx: Context, task_id: TaskId = None):
        """Call this when your task is done and checked: it goes to review at once with your summary. Not while
        work remains; if you cannot finish, call fail_task, and if a person could unblock you, ask_human."""
        return await call(ctx, facade.finish_task, summary=summary, task_id=task_id)

    @tool(facade.fail_task, WRITES)
    async def fail_task(reason: Reason, ctx: Context, task_id: TaskId = None):
        """Call this when your task cannot be done and no answer from a person would change that: it is marked
        failed at once with your reason."""
        return await call(ctx, facade.fail_task, reason=reason, task_id=task_id)

    @tool(facade.ask_human, WRITES)
    async def ask_human(question: Question, ctx: Context, options: Options = None):
        """Ask the person in charge when you are blocked on a decision or on information only they have. It
        returns at once; the answer arrives later as a message typed into your input, so end your turn and wait
        for it instead of guessing."""
        return await call(ctx, facade.ask_human, question=question, options=options)

    @tool(facade.next_task, WRITES)
    async def next_task(ctx: Context):
        """Claim the most urgent task that is ready for you (its dependencies done, within the limit of active
        tasks) and get its prompt; null when none is ready. Call it after finish_task to keep working."""
        return await call(ctx, facade.next_task)

    @tool(facade.send_message, WRITES)
    async def send_message(session: SessionName, text: MessageText, ctx: Context):
        """Send a message to the agent of another session, for handing work over: it is queued and typed into
        that agent's input when it is idle, with you recorded as the sender. Needs the fleet-write tier."""
        return await call(ctx, facade.send_message, session=session, text=text)

    @tool(facade.read_document, READS)
    async def read_document(path: DocumentPath, ctx: Context, start: Line = None, end: Line = None):
        """Read a document of the project as the file holds it now, numbered lines, optionally only lines start
        to end. Needs the fleet-read tier."""
        return await call(ctx, facade.read_document, path=path, start=start, end=end)

    @tool(facade.list_sessions, READS)
    async def list_sessions(ctx: Context):
        """The live sessions of this project: each one's profile, status (idle, busy, waiting, stopped), why, and
        the task it works on. Use it to find a session to hand work to. Needs the fleet-read tier."""
        return await call(ctx, facade.list_sessions)

    @tool(facade.list_tasks, READS)
    async def list_tasks(ctx: Context, status: Status = None, label: Label = None):
        """The project's tasks, most urgent first, optionally only those of one status or label, each with its
        session and the dependencies it still waits for. Needs the fleet-read tier."""
        return await call(ctx, facade.list_tasks, status=status, label=label)

    @tool(facade.create_task, WRITES)
    async def create_task(
        title: Title,
        ctx: Context,
        description: Description = "",
        priority: Priority = 0,
        labels: Labels = None,
        references: References = None,
        depends_on: DependsOn = None,
    ):
        """Add a ready task to the project's board, as a person would: for work you found that is not yours to do
        now. Give its context as line ranges of the design documents. Needs the fleet-write tier."""
        return await call(
            ctx,
            facade.create_task,
            title=title,
            description=description,
            priority=priority,
            labels=labels,
            references=references,
            depends_on=depends_on,
        )

    @tool(facade.assign_task, WRITES)
    async def assign_task(task_id: AssignedTask, session: AssigneeName, ctx: Context):
        """Hand a ready task to another session: its prompt is queued there and typed when that agent is idle.
        Needs the fleet-write tier."""
        return await call(ctx, facade.assign_task, task_id=task_id, session=session)

    @tool(facade.claim_paths, WRITES)
    async def claim_paths(paths: Paths, reason: ClaimReason, ctx: Context):
        """Claim paths for your task before you change them, so no other agent edits them meanwhile: held until
        your task leaves work and review. Refused, naming the holder, when another task holds an overlapping
        claim: then work elsewhere or ask_human."""
        return await call(ctx, facade.claim_paths, paths=paths, reason=reason)

    @tool(facade.release_paths, WRITES)
    async def release_paths(paths: Paths, ctx: Context):
        """Release claims your task holds and no longer needs (the patterns as list_claims shows them)."""
        return await call(ctx, facade.release_paths, paths=paths)

    @tool(facade.list_claims, READS)
    async def list_claims(ctx: Context):
        """Every live path claim of the project: its pattern, the task and session holding it, and whether it is
        yours."""
        return await call(ctx, facade.list_claims)

    @server.tool(annotations=READS)
    async def ping() -> str:
        """Does nothing and answers "pong": checks that Chorus's tools are reachable."""
        return "pong"

    return server
