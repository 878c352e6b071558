"""The MCP layer in process, driven by the SDK's own client against a stub of the agent facade: the tools and their
schemas, the caller each call is made for, domain errors as tool errors, and requests refused before any tool runs
(no credential, a revoked one, a foreign Host or Origin, an oversized body)."""

from __future__ import annotations

import json
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

import httpx2
import pytest
from mcp.client.client import Client
from mcp.client.streamable_http import streamable_http_client
from pydantic import BaseModel
from starlette.responses import JSONResponse

from chorus_site.asgi import with_agent_tools
from chorus_site.mcp import AgentEndpoint
from events_app.errors import Conflict, DomainError

URL = "http://127.0.0.1:8765/mcp/"
GOOD = "good-credential"


class Denied(DomainError):
    status = 401


@dataclass(frozen=True)
class Caller:
    session: str


class Identity(BaseModel):
    session: str
    task_id: int | None


class Task(BaseModel):
    title: str


class Ack(BaseModel):
    message: str


class Asked(BaseModel):
    question_id: str
    options: list[str]


class Text(BaseModel):
    path: str
    lines: list[str]


class Names(BaseModel):
    names: list[str]


@dataclass
class StubFacade:
    """The pinned facade's names and keywords; records each call as (function, caller's session, arguments)."""

    calls: list[tuple] = field(default_factory=list)

    def authenticate(self, credential: str) -> Caller:
        if credential != GOOD:
            raise Denied("the credential is unknown or revoked")
        return Caller("w1")

    def record(self, name: str, caller: Caller, **arguments) -> None:
        self.calls.append((name, caller.session, arguments))

    def whoami(self, caller: Caller) -> Identity:
        self.record("whoami", caller)
        return Identity(session=caller.session, task_id=7)

    def current_task(self, caller: Caller) -> Task | None:
        self.record("current_task", caller)
        return None

    def report_progress(self, caller: Caller, *, note: str, task_id: int | None = None) -> Ack:
        self.record("report_progress", caller, note=note, task_id=task_id)
        if note == "again":
            raise Conflict("task 7 is not yours: it is assigned to w2")
        return Ack(message="noted")

    def finish_task(self, caller: Caller, *, summary: str, task_id: int | None = None) -> Ack:
        self.record("finish_task", caller, summary=summary, task_id=task_id)
        return Ack(message="task 7 is in review")

    def fail_task(self, caller: Caller, *, reason: str, task_id: int | None = None) -> Ack:
        self.record("fail_task", caller, reason=reason, task_id=task_id)
        raise RuntimeError("a bug with a secret path /home/me/.local in its message")

    def ask_human(self, caller: Caller, *, question: str, options: list[str] | None = None) -> Asked:
        self.record("ask_human", caller, question=question, options=options)
        return Asked(question_id="q-1", options=options or [])

    def next_task(self, caller: Caller) -> Task | None:
        self.record("next_task", caller)
        return Task(title="Write the docs")

    def send_message(self, caller: Caller, *, session: str, text: str) -> Ack:
        self.record("send_message", caller, session=session, text=text)
        return Ack(message="queued")

    def read_document(self, caller: Caller, *, path: str, start: int | None = None, end: int | None = None) -> Text:
        self.record("read_document", caller, path=path, start=start, end=end)
        return Text(path=path, lines=["# Title"])

    def list_sessions(self, caller: Caller) -> Names:
        self.record("list_sessions", caller)
        return Names(names=["w1", "w2"])

    def list_tasks(self, caller: Caller, *, status: str | None = None, label: str | None = None) -> Names:
        self.record("list_tasks", caller, status=status, label=label)
        return Names(names=["7"])

    def create_task(
        self,
        caller: Caller,
        *,
        title: str,
        description: str = "",
        priority: int = 0,
        labels: list[str] | None = None,
        references: list[str] | None = None,
        depends_on: list[int] | None = None,
    ) -> Task:
        arguments = dict(description=description, priority=priority, labels=labels)
        self.record("create_task", caller, title=title, **arguments, references=references, depends_on=depends_on)
        return Task(title=title)

    def assign_task(self, caller: Caller, *, task_id: int, session: str) -> Ack:
        self.record("assign_task", caller, task_id=task_id, session=session)
        return Ack(message="assigned")

    def claim_paths(self, caller: Caller, *, paths: list[str], reason: str) -> Names:
        self.record("claim_paths", caller, paths=paths, reason=reason)
        return Names(names=paths)

    def release_paths(self, caller: Caller, *, paths: list[str]) -> Names:
        self.record("release_paths", caller, paths=paths)
        return Names(names=[])

    def list_claims(self, caller: Caller) -> Names:
        self.record("list_claims", caller)
        return Names(names=["src/**"])


@pytest.fixture
def facade():
    return StubFacade()


def http(endpoint: AgentEndpoint, headers: dict) -> httpx2.AsyncClient:
    return httpx2.AsyncClient(transport=httpx2.ASGITransport(app=endpoint), headers=headers)


@asynccontextmanager
async def connected(facade, credential: str = GOOD):
    async with (
        http(AgentEndpoint(facade), {"Authorization": f"Bearer {credential}"}) as client,
        Client(streamable_http_client(URL, http_client=client), mode="legacy") as session,
    ):
        yield session


def structured(result) -> dict:
    assert not result.is_error, result.content
    return result.structured_content


TOOLS = {
    "whoami": set(),
    "current_task": set(),
    "report_progress": {"note", "task_id"},
    "finish_task": {"summary", "task_id"},
    "fail_task": {"reason", "task_id"},
    "ask_human": {"question", "options"},
    "next_task": set(),
    "send_message": {"session", "text"},
    "read_document": {"path", "start", "end"},
    "list_sessions": set(),
    "list_tasks": {"status", "label"},
    "create_task": {"title", "description", "priority", "labels", "references", "depends_on"},
    "assign_task": {"task_id", "session"},
    "claim_paths": {"paths", "reason"},
    "release_paths": {"paths"},
    "list_claims": set(),
    "ping": set(),
}


@pytest.mark.asyncio
async def test_the_tools_their_arguments_and_result_schemas(facade):
    async with connected(facade) as session:
        tools = {tool.name: tool for tool in (await session.list_tools()).tools}
    assert {name: set(tool.input_schema.get("properties", {})) for name, tool in tools.items()} == TOOLS
    required = {name: set(tool.input_schema.get("required", [])) for name, tool in tools.items() if tool.input_schema}
    assert required["ask_human"] == {"question"}
    assert required["read_document"] == {"path"}
    assert required["send_message"] == {"session", "text"}
    assert required["create_task"] == {"title"}
    assert required["assign_task"] == {"task_id", "session"}
    assert required["claim_paths"] == {"paths", "reason"}
    assert all(len(tool.description) > 40 for tool in tools.values() if tool.name != "ping")
    assert tools["whoami"].output_schema["properties"].keys() == {"session", "task_id"}
    assert tools["whoami"].annotations.read_only_hint is True
    assert tools["finish_task"].annotations.read_only_hint is False
    assert facade.calls == []


@pytest.mark.asyncio
async def test_each_tool_calls_its_facade_function_for_the_authenticated_session(facade):
    async with connected(facade) as session:
        assert structured(await session.call_tool("whoami", {})) == {"session": "w1", "task_id": 7}
        assert structured(await session.call_tool("current_task", {})) == {"result": None}
        assert structured(await session.call_tool("report_progress", {"note": "tests pass"})) == {"message": "noted"}
        await session.call_tool("finish_task", {"summary": "done", "task_id": 7})
        asked = await session.call_tool("ask_human", {"question": "Which?", "options": ["a", "b"]})
        assert structured(asked) == {"question_id": "q-1", "options": ["a", "b"]}
        # A result that may be none is wrapped by the SDK: {"result": null} or {"result": {...}}.
        assert structured(await session.call_tool("next_task", {})) == {"result": {"title": "Write the docs"}}
        await session.call_tool("send_message", {"session": "w2", "text": "yours now"})
        await session.call_tool("read_document", {"path": "README.md", "start": 1, "end": 3})
        assert structured(await session.call_tool("list_sessions", {})) == {"names": ["w1", "w2"]}
        await session.call_tool("list_tasks", {"status": "ready"})
        created = await session.call_tool("create_task", {"title": "Split it", "references": ["spec.md:1-2"]})
        assert structured(created) == {"title": "Split it"}
        await session.call_tool("assign_task", {"task_id": 8, "session": "w2"})
        claimed = await session.call_tool("claim_paths", {"paths": ["src/**"], "reason": "the API"})
        assert structured(claimed) == {"names": ["src/**"]}
        await session.call_tool("release_paths", {"paths": ["src/**"]})
        assert structured(await session.call_tool("list_claims", {})) == {"names": ["src/**"]}
        assert (await session.call_tool("ping", {})).content[0].text == "pong"
    assert facade.calls == [
        ("whoami", "w1", {}),
        ("current_task", "w1", {}),
        ("report_progress", "w1", {"note": "tests pass", "task_id": None}),
        ("finish_task", "w1", {"summary": "done", "task_id": 7}),
        ("ask_human", "w1", {"question": "Which?", "options": ["a", "b"]}),
        ("next_task", "w1", {}),
        ("send_message", "w1", {"session": "w2", "text": "yours now"}),
        ("read_document", "w1", {"path": "README.md", "start": 1, "end": 3}),
        ("list_sessions", "w1", {}),
        ("list_tasks", "w1", {"status": "ready", "label": None}),
        (
            "create_task",
            "w1",
            {
                "title": "Split it",
                "description": "",
                "priority": 0,
                "labels": None,
                "references": ["spec.md:1-2"],
                "depends_on": None,
            },
        ),
        ("assign_task", "w1", {"task_id": 8, "session": "w2"}),
        ("claim_paths", "w1", {"paths": ["src/**"], "reason": "the API"}),
        ("release_paths", "w1", {"paths": ["src/**"]}),
        ("list_claims", "w1", {}),
    ]


@pytest.mark.asyncio
async def test_a_domain_error_is_a_tool_error_with_its_message(facade):
    async with connected(facade) as session:
        result = await session.call_tool("report_progress", {"note": "again"})
    assert result.is_error
    assert [block.text for block in result.content] == [
        "Error executing tool report_progress: task 7 is not yours: it is assigned to w2"
    ]


@pytest.mark.asyncio
async def test_any_other_failure_tells_nothing_of_it(facade):
    async with connected(facade) as session:
        result = await session.call_tool("fail_task", {"reason": "stuck"})
    assert result.is_error
    assert "secret" not in result.content[0].text
    assert "Traceback" not in result.content[0].text


@pytest.mark.asyncio
async def test_arguments_that_break_the_schema_run_nothing(facade):
    async with connected(facade) as session:
        result = await session.call_tool("report_progress", {"note": 5})
        missing = await session.call_tool("send_message", {"session": "w2"})
    assert result.is_error and missing.is_error
    assert facade.calls == []


# --- Refused before the SDK sees the request ---------------------------------------------------------------------

INITIALIZE = {
    "jsonrpc": "2.0",
    "id": 1,
    "method": "initialize",
    "params": {"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}},
}
ACCEPT = {"Accept": "application/json, text/event-stream", "Content-Type": "application/json"}


async def post(facade, headers: dict, body: bytes | None = None) -> httpx2.Response:
    async with http(AgentEndpoint(facade), {**ACCEPT, **headers}) as client:
        return await client.post(URL, content=body if body is not None else json.dumps(INITIALIZE).encode())


@pytest.mark.asyncio
@pytest.mark.parametrize(
    ("headers", "detail"),
    [
        ({}, "no credential: send Authorization: Bearer <the session's credential>"),
        ({"Authorization": "Bearer revoked"}, "the credential is unknown or revoked"),
        ({"Authorization": "Basic Z29vZA=="}, "no credential: send Authorization: Bearer <the session's credential>"),
    ],
)
async def test_without_a_valid_credential_401_and_no_tool_runs(facade, headers, detail):
    response = await post(facade, headers)
    assert response.status_code == 401
    assert response.json() == {"detail": detail}
    assert facade.calls == []


@pytest.mark.asyncio
async def test_a_valid_credential_is_let_through(facade):
    response = await post(facade, {"Authorization": f"Bearer {GOOD}"})
    assert response.status_code == 200
    assert response.json()["result"]["serverInfo"]["name"] == "chorus"


@pytest.mark.asyncio
@pytest.mark.parametrize(
    ("headers", "status"),
    [
        ({"Host": "evil.example:8765"}, 400),
        ({"Origin": "http://evil.example"}, 403),
        # Another local port is another site: a page served there must not reach the tools either.
        ({"Origin": "http://127.0.0.1:3000"}, 403),
    ],
)
async def test_a_foreign_host_or_origin_is_refused_even_with_a_credential(facade, headers, status):
    response = await post(facade, {"Authorization": f"Bearer {GOOD}", **headers})
    assert response.status_code == status
    assert facade.calls == []


@pytest.mark.asyncio
async def test_the_sites_own_origin_passes(facade):
    response = await post(facade, {"Authorization": f"Bearer {GOOD}", "Origin": "http://127.0.0.1:8765"})
    assert response.status_code == 200


@pytest.mark.asyncio
async def test_the_body_is_bounded_by_the_sites_limit(facade, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    response = await post(facade, {"Authorization": f"Bearer {GOOD}"}, b"x" * 2000)
    assert response.status_code == 413


@pytest.mark.asyncio
@pytest.mark.parametrize("path", ["/mcp/", "/mcp"])
async def test_the_site_sends_mcp_requests_to_the_endpoint_built_once_and_the_rest_to_django(facade, path):
    async def site(scope, receive, send):
        await JSONResponse({"from": "site"})(scope, receive, send)

    loads = []

    def load():
        loads.append(1)
        return AgentEndpoint(facade)

    application = with_agent_tools(site, load)
    transport = httpx2.ASGITransport(app=application)
    async with httpx2.AsyncClient(transport=transport, headers=ACCEPT) as client:
        page = await client.get("http://127.0.0.1:8765/mcp/other")
        assert loads == []
        for _ in range(2):
            tools = await client.post(f"http://127.0.0.1:8765{path}", content=json.dumps(INITIALIZE).encode())
            assert tools.status_code == 401
    assert page.json() == {"from": "site"}
    assert loads == [1]
