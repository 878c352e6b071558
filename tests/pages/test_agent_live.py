"""What a person sees of the agents' tools, live in a real browser: a question appears on the session page while it
is open, is answered with a button, and leaves; the agent's calls and progress notes arrive on the session and task
pages without a reload. The agent's calls go through the tools' facade in this process, on the same database, as
the MCP server and the twins make them."""

import pytest
from django.conf import settings
from playwright.sync_api import expect

from events_app.store import event_context
from sessions_app import credentials
from tasks_app import services as task_services
from tasks_app.services import agent
from tests.pages.test_sessions_pages import start_session
from tests.sessions_app.conftest import received_prompts

pytestmark = [pytest.mark.browser, pytest.mark.integration, pytest.mark.timeout(120)]


def agent_of(name: str) -> agent.AgentCaller:
    """The session's agent as its tools authenticate it: with the secret Chorus wrote for its pane."""
    secret = (credentials.directory(name) / "credential").read_text().strip()
    assert credentials.directory(name).parent == settings.DATA_DIR / "agents"
    return agent.authenticate(secret)


def call(me: agent.AgentCaller, tool, **arguments):
    with event_context(actor=me.session, source="agent"):
        return tool(me, **arguments)


def test_a_question_is_shown_live_answered_with_a_button_and_typed_to_the_agent(page, stack, screenshot):
    start_session(page, "asker")
    expect(page.locator("#card-asker")).to_have_attribute("data-status", "idle", timeout=15_000)
    page.goto("/sessions/asker/")
    me = agent_of("asker")
    questions = page.locator("#questions")
    expect(questions).to_contain_text("No open question")

    asked = call(me, agent.ask_human, question="Postgres or SQLite?", options=["Postgres", "SQLite"])
    expect(questions).to_contain_text("Postgres or SQLite?")
    expect(page.locator("#session-head")).to_have_attribute("data-status", "waiting")
    expect(page.locator("#session-head .reason")).to_contain_text("agent asks: Postgres or SQLite?")
    expect(page).to_have_title("(1) asker · Chorus")
    expect(page.locator("#agent-calls")).to_contain_text("ask_human")
    screenshot(page, "session-agent-question")

    questions.get_by_role("button", name="SQLite").click()
    expect(page.locator("#flash")).to_contain_text("Answer queued")
    expect(questions).to_contain_text("No open question")
    expect(questions.locator(".question-history")).to_contain_text("SQLite")
    answer = f"Answer to your question ({asked.question_id}): SQLite"
    expect(page.locator("#outbox")).to_contain_text("delivered", timeout=15_000)
    assert answer in received_prompts(stack.project.log)
    expect(page).to_have_title("asker · Chorus", timeout=15_000)


def test_progress_notes_and_the_agents_summary_arrive_on_the_task_page_live(page, stack, screenshot):
    start_session(page, "worker")
    expect(page.locator("#card-worker")).to_have_attribute("data-status", "idle", timeout=15_000)
    me = agent_of("worker")
    with event_context(actor="alice", source="test"):
        task = task_services.task_create("Write the parser")
        task_services.task_assign(task.id, "worker", expected_version=task.version)
    page.goto(f"/tasks/{task.id}/")
    expect(page.locator("#live-status")).to_have_text("live")
    timeline = page.locator("#timeline")

    call(me, agent.report_progress, note="tokenizer done")
    expect(timeline.locator("li.note")).to_have_count(1)
    expect(timeline.locator("li.note").first).to_contain_text("tokenizer done")
    call(me, agent.report_progress, note="parser done")
    expect(timeline.locator("li.note").first).to_contain_text("parser done")  # newest first

    call(me, agent.finish_task, summary="Parser written with 12 tests.")
    expect(page.locator("#task-detail")).to_have_attribute("data-status", "review")
    expect(page.locator("#result-note")).to_contain_text("The agent's summary")
    expect(page.locator("#result-note")).to_contain_text("Parser written with 12 tests.")
    screenshot(page, "task-agent-timeline")

    page.goto("/sessions/worker/")
    expect(page.locator("#agent-calls")).to_contain_text("finish_task")
