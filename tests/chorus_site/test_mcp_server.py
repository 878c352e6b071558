"""The agents' MCP server for real: the SDK's own client against a Chorus server (daphne, the real facade, the test
database) for sessions started in a private tmux server with their own credentials: each tool, each tier, a
credential revoked by a kill, and a call while the web server is down."""

from __future__ import annotations

import asyncio
import json
import time
import urllib.error
import urllib.request
from contextlib import asynccontextmanager

import httpx2
import pytest
from django.conf import settings
from mcp.client.client import Client
from mcp.client.streamable_http import streamable_http_client

from documents_app.services import documents_scan
from events_app import store
from sessions_app import credentials, services
from sessions_app.models import AgentQuestion, OutboxMessage, Session
from tasks_app.models import Task
from tasks_app.services.tasks import task_create
from tests.support import ServerProcess, child_environment, free_port

pytestmark = [pytest.mark.integration]

# sh stands in for an agent here (agent = true): the tools, not the program, are under test
SH_PROFILE = '[profiles.sh]\nextends = "shell"\ncommand = ["/bin/sh"]\nagent = true\n'


@pytest.fixture(scope="module")
def root(tmp_path_factory):
    root = tmp_path_factory.mktemp("tools") / "project"
    root.mkdir()
    (root / "spec.md").write_text("# Spec\nline two\nline three\n")
    # A shell that reads no start-up files: the agent of every session here, ready at once.
    (root / "chorus.toml").write_text(SH_PROFILE)
    return root


@pytest.fixture(scope="module")
def tools_server(django_db_setup, root):
    """One server for the module: it keeps nothing between requests (stateless MCP, every answer from the
    database), and its PROJECT_ROOT is the one the sessions and documents of the tests use."""
    process = ServerProcess({**child_environment(), "PROJECT_ROOT": str(root)}, free_port(), settings.CHORUS_TOKEN)
    yield process
    process.stop()


@pytest.fixture
def chorus(tools_server, transactional_db, tmux_server, settings, root):
    settings.PROJECT_ROOT = root
    settings.CHORUS_TMUX_SOCKET = str(tmux_server.socket)
    settings.CHORUS_NOTIFY = "off"
    return tools_server


def start(name: str, tier: str) -> str:
    """A shell session with tools of `tier`; its secret, read from its credential file as the agent would."""
    services.session_create(name, "sh", tools=tier)
    return (credentials.directory(name) / credentials.SECRET_FILE).read_text()


@asynccontextmanager
async def connected(server: ServerProcess, secret: str):
    async with (
        httpx2.AsyncClient(headers={"Authorization": f"Bearer {secret}"}, timeout=30) as http,
        Client(streamable_http_client(f"{server.url}/mcp/", http_client=http), mode="legacy") as session,
    ):
        yield session


def call(server: ServerProcess, secret: str, *calls: tuple[str, dict]) -> list:
    """The results of these tool calls, made in order on one connection."""

    async def run() -> list:
        async with connected(server, secret) as session:
            return [await session.call_tool(name, arguments) for name, arguments in calls]

    return asyncio.run(run())


def answer(result) -> dict:
    assert not result.is_error, result.content
    return result.structured_content


def error(result) -> str:
    assert result.is_error, result.structured_content
    return result.content[0].text


def test_an_agent_takes_reports_on_and_finishes_its_task(chorus):
    secret = start("w1", "self")
    task = task_create("Write the parser", description="Parse the config file.")
    whoami, pulled, current, progress, finished, ping = call(
        chorus,
        secret,
        ("whoami", {}),
        ("next_task", {}),
        ("current_task", {}),
        ("report_progress", {"note": "the parser reads sections"}),
        ("finish_task", {"summary": "parser.py parses sections; tests in test_parser.py pass"}),
        ("ping", {}),
    )
    assert {k: answer(whoami)[k] for k in ("session", "profile", "tier", "task_id")} == {
        "session": "w1",
        "profile": "sh",
        "tier": "self",
        "task_id": None,
    }
    assert answer(pulled)["result"]["id"] == task.id
    assert "Parse the config file." in answer(pulled)["result"]["prompt"]
    assert answer(current)["result"]["title"] == "Write the parser"
    assert answer(progress)["task_id"] == task.id
    assert answer(finished)["status"] == "review"
    assert ping.content[0].text == "pong"
    assert Task.objects.get(pk=task.id).status == "review"
    reported = next(store.read(event_types=("AgentProgressReported",)))
    assert (reported.event.note, reported.metadata["actor"], reported.metadata["source"]) == (
        "the parser reads sections",
        "w1",
        "agent",
    )


def test_an_agent_fails_its_task_with_its_reason(chorus):
    secret = start("w1", "self")
    task = task_create("Port to Windows")
    _pulled, failed = call(chorus, secret, ("next_task", {}), ("fail_task", {"reason": "no Windows machine here"}))
    assert answer(failed)["status"] == "failed"
    assert Task.objects.get(pk=task.id).status == "failed"


def test_a_question_waits_for_the_person(chorus):
    secret = start("w1", "self")
    (asked,) = call(chorus, secret, ("ask_human", {"question": "Keep the old API?", "options": ["yes", "no"]}))
    question = AgentQuestion.objects.get(pk=answer(asked)["question_id"])
    assert (question.session, question.text, question.options, question.state) == (
        "w1",
        "Keep the old API?",
        ["yes", "no"],
        "open",
    )


def test_a_task_that_is_not_the_callers_is_refused_and_nothing_is_written(chorus):
    mine, other = start("w1", "self"), start("w2", "self")
    task = task_create("Mine")
    call(chorus, mine, ("next_task", {}))
    before = store.last_position()
    (refused,) = call(chorus, other, ("finish_task", {"summary": "done", "task_id": task.id}))
    assert f"task {task.id} is not the task of session w2" in error(refused)
    assert Task.objects.get(pk=task.id).status == "in_progress"
    assert store.last_position() == before


@pytest.mark.parametrize(
    ("tier", "reads", "writes"),
    [("self", False, False), ("fleet-read", True, False), ("fleet-write", True, True)],
)
def test_each_tier_allows_what_it_says(chorus, tier, reads, writes):
    documents_scan()
    secret = start("w1", tier)
    services.session_create("w2", "sh", tools="off")
    whoami, read, listed, sent, created = call(
        chorus,
        secret,
        ("whoami", {}),
        ("read_document", {"path": "spec.md", "start": 2, "end": 3}),
        ("list_sessions", {}),
        ("send_message", {"session": "w2", "text": "the parser is yours"}),
        ("create_task", {"title": "Found while parsing", "references": ["spec.md:2-3"]}),
    )
    assert answer(whoami)["tier"] == tier
    if reads:
        assert [line["text"] for line in answer(read)["lines"]] == ["line two", "line three"]
        assert [s["name"] for s in answer(listed)["sessions"]] == ["w1", "w2"]
    else:
        assert error(read).endswith(f"needs the fleet-read tier; the agent tools of session w1 have {tier}")
        assert "list_sessions needs the fleet-read tier" in error(listed)
    if writes:
        message = OutboxMessage.objects.get(pk=answer(sent)["message_id"])
        assert (message.session, message.sender) == ("w2", "w1")
        assert Task.objects.get(pk=answer(created)["id"]).title == "Found while parsing"
    else:
        assert "send_message needs the fleet-write tier" in error(sent)
        assert "create_task needs the fleet-write tier" in error(created)
        assert not OutboxMessage.objects.filter(session="w2").exists()
        assert not Task.objects.exists()


def post_initialize(server: ServerProcess, secret: str) -> tuple[int, dict]:
    body = {
        "jsonrpc": "2.0",
        "id": 1,
        "method": "initialize",
        "params": {"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}},
    }
    headers = {
        "Authorization": f"Bearer {secret}",
        "Accept": "application/json, text/event-stream",
        "Content-Type": "application/json",
    }
    request = urllib.request.Request(f"{server.url}/mcp/", json.dumps(body).encode(), headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as refused:
        return refused.code, json.loads(refused.read())


def test_a_killed_sessions_credential_stops_working_at_once(chorus):
    secret = start("w1", "self")
    assert post_initialize(chorus, secret)[0] == 200
    services.session_kill("w1")
    status, body = post_initialize(chorus, secret)
    assert status == 401
    assert body == {"detail": "this agent credential was revoked: the session was killed"}


def test_no_credential_or_a_made_up_one_is_refused(chorus):
    assert post_initialize(chorus, "")[0] == 401
    assert post_initialize(chorus, "not-a-credential")[1] == {"detail": "unknown agent credential"}


@pytest.mark.django_db(transaction=True)
def test_while_the_web_server_is_down_a_call_fails_at_once_and_the_twin_still_works(tmux_server, settings, root):
    settings.PROJECT_ROOT = root
    settings.CHORUS_TMUX_SOCKET = str(tmux_server.socket)
    server = ServerProcess({**child_environment(), "PROJECT_ROOT": str(root)}, free_port(), settings.CHORUS_TOKEN)
    secret = start("w1", "self")
    assert answer(call(server, secret, ("whoami", {}))[0])["session"] == "w1"
    server.stop()
    started = time.monotonic()
    with pytest.raises(ExceptionGroup) as failure:
        call(server, secret, ("whoami", {}))
    # The SDK's client says it cannot connect, at once: the agent can turn to the twin.
    assert failure.group_contains(httpx2.ConnectError)
    assert time.monotonic() - started < 5
    # The twin as the agent's shell runs it: `chorus` found on the pane's PATH, the credential from its file.
    pane = Session.objects.get(pk="w1").pane_id
    tmux_server.send_text(pane, "chorus agent --json whoami > whoami.json")
    tmux_server.send_keys(pane, "Enter")
    output = root / "whoami.json"
    deadline = time.monotonic() + 60
    while not (output.exists() and output.read_text().strip().endswith("}")) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert json.loads(output.read_text())["session"] == "w1"


@pytest.mark.django_db(transaction=True)
def test_a_read_only_chorus_refuses_the_tools_with_its_reason(tmux_server, settings, root):
    settings.PROJECT_ROOT = root
    settings.CHORUS_TMUX_SOCKET = str(tmux_server.socket)
    environment = {**child_environment(), "PROJECT_ROOT": str(root), "CHORUS_READ_ONLY": "1"}
    server = ServerProcess(environment, free_port(), settings.CHORUS_TOKEN)
    try:
        secret = start("w1", "self")
        before = store.last_position()
        refused, ping = call(server, secret, ("report_progress", {"note": "step one"}), ("ping", {}))
    finally:
        server.stop()
    assert error(refused).startswith("Error executing tool report_progress: Chorus runs read-only (CHORUS_READ_ONLY)")
    assert ping.content[0].text == "pong"
    assert store.last_position() == before
