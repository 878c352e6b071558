"""What the pages show of the agents' tools, through Django's test client and the live partials: the session's open
questions with a button per option and a free-text answer, its earlier questions and its agent's calls; the card
of a session whose agent asks; a task's timeline with its agents' notes, its agent's own words and pulls."""

import pytest
from django.conf import settings
from django.test import Client

from chorus_site.pages.overview import OverviewPage
from chorus_site.pages.session import SessionPage
from chorus_site.pages.task import TaskPage
from events_app import store
from events_app.store import event_context
from sessions_app import agent_reports, credentials, hosts
from sessions_app.models import AgentQuestion, OutboxMessage
from tasks_app import git
from tasks_app import services as task_services
from tasks_app.services import agent
from tests.tasks_app.factories import SessionFactory, TaskFactory, assigned_task
from tests.tasks_app.helpers import session_status

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _no_git(settings, tmp_path):
    """Credentials under the test's own data directory; no git in the fast tier (HEAD is None)."""
    settings.DATA_DIR = tmp_path / "data"
    settings.PROJECT_ROOT = tmp_path
    settings.CHORUS_PROMPT_TEMPLATE = ""
    with git.head_reader(lambda: None):
        yield


def caller(name: str = "s1") -> agent.AgentCaller:
    issued = credentials.issue(name, "self")
    SessionFactory(name=name)
    return agent.authenticate(issued.secret)


def ask(me: agent.AgentCaller, text: str, options=None) -> str:
    with event_context(actor=me.session, source="agent"):
        return agent.ask_human(me, question=text, options=options).question_id


def as_agent(me: agent.AgentCaller, tool, **arguments):
    with event_context(actor=me.session, source="agent"):
        return tool(me, **arguments)


def notice(stream_type: str, stream_id: str) -> dict:
    return {"stream_type": stream_type, "stream_id": stream_id, "position": store.last_position()}


def test_an_open_question_offers_a_button_per_option_and_a_free_text_answer(browser):
    me = caller()
    task = assigned_task("s1", title="Pick a database")
    asked = ask(me, "Postgres or SQLite?", ["Postgres", "SQLite"])
    page = browser.get("/sessions/s1/").content.decode()
    assert 'id="questions"' in page and "Postgres or SQLite?" in page
    assert f'href="/tasks/{task.id}/">task #{task.id}</a>' in page
    assert page.count(f'name="question_id" value="{asked}"') == 2  # the options' form and the free text's
    assert 'name="answer" value="Postgres"' in page and 'name="answer" value="SQLite"' in page
    assert 'action="/sessions/s1/answer"' in page and "csrfmiddlewaretoken" in page

    answered = browser.post("/sessions/s1/answer", {"question_id": asked, "answer": "SQLite"}, HTTP_HX_REQUEST="true")
    assert answered.status_code == 200 and b"Answer queued" in answered.content
    question = AgentQuestion.objects.get(pk=asked)
    assert (question.state, question.answer, question.answered_by) == ("answered", "SQLite", "browser")
    message = OutboxMessage.objects.get(pk=question.message_id)
    assert message.text == f"Answer to your question ({asked}): SQLite"


def test_answering_twice_or_with_nothing_is_refused_through_the_flash(browser):
    me = caller()
    asked = ask(me, "Go on?")
    empty = browser.post("/sessions/s1/answer", {"question_id": asked, "answer": "  "}, HTTP_HX_REQUEST="true")
    assert empty.status_code == 400 and b"the answer is empty" in empty.content
    assert browser.post("/sessions/s1/answer", {"question_id": asked, "answer": "yes"}).status_code == 302
    again = browser.post("/sessions/s1/answer", {"question_id": asked, "answer": "no"}, HTTP_HX_REQUEST="true")
    assert again.status_code == 409 and b"already answered by browser" in again.content
    unknown = browser.post("/sessions/s1/answer", {"question_id": "q-none", "answer": "x"}, HTTP_HX_REQUEST="true")
    assert unknown.status_code == 404
    strict = Client(HTTP_HOST="127.0.0.1", enforce_csrf_checks=True)
    strict.get(f"/login/?token={settings.CHORUS_TOKEN}")
    assert strict.post("/sessions/s1/answer", {"question_id": asked, "answer": "x"}).status_code == 403


def test_the_question_partial_follows_questions_asked_answered_and_withdrawn_and_the_calls_follow_the_agent():
    me = caller()
    page = SessionPage({"name": "s1"})
    assert {"live.t.question", "live.s.agent.s1"} <= set(page.groups())
    snapshot = page.snapshot()
    assert "No open question through Chorus's tools" in snapshot and "No tool calls yet." in snapshot
    asked = ask(me, "Which port?")
    update = page.update([notice("question", asked)])
    assert 'id="questions"' in update and "Which port?" in update and "Your answer" in update
    assert page.update([notice("question", asked)]) == ""  # nothing changed: nothing sent
    agent_reports.question_answer("s1", "8080", question_id=asked)
    answered = page.update([notice("question", asked)])
    assert "No open question" in answered and "Earlier questions" in answered and "8080" in answered

    second = ask(me, "And the host?")
    agent_reports.questions_withdraw("s1", before=store.last_position() + 1, reason="the session was killed")
    withdrawn = page.update([notice("question", second)])
    assert "the session was killed" in withdrawn and "qs-withdrawn" in withdrawn

    as_agent(me, agent.report_progress, note="ports chosen")
    calls = page.update([notice("agent", "s1")])
    assert 'id="agent-calls"' in calls and "report_progress" in calls and "ports chosen" in calls
    assert "ask_human" in calls
    assert page.update([notice("agent", "other")]) == ""


def test_a_card_shows_the_question_its_agent_asks_and_the_counter_counts_it(browser):
    me = caller()
    hosts.claim()  # its host's worker runs: the card shows the status as current
    overview = OverviewPage({})
    overview.snapshot()
    asked = ask(me, "Delete the old tables?")
    card = overview.update([notice("question", asked)])
    # before the worker's status fusion says so, the card already shows the question and where to answer it
    assert 'id="card-s1"' in card and "Delete the old tables?" in card and 'href="/sessions/s1/#questions"' in card
    session_status("s1", "waiting", "agent asks: Delete the old tables?")
    page = browser.get("/").content.decode()
    assert "(1) Sessions" in page and "1 needs you" in page
    assert page.count("Delete the old tables?") == 2  # the reason, and its title; not a second line saying it
    assert 'href="/sessions/s1/#questions">Answer</a>' in page
    agent_reports.question_answer("s1", "yes", question_id=asked)
    assert "#questions" not in overview.update([notice("question", asked)])


def test_a_tasks_timeline_shows_its_agents_notes_live_and_the_agents_summary(browser):
    me = caller()
    task = assigned_task("s1", title="Write the parser")
    page = TaskPage({"id": str(task.id)})
    page.snapshot()
    as_agent(me, agent.report_progress, note="tokenizer done")
    update = page.update([notice("agent", "s1")])
    assert update.strip().startswith('<section id="timeline"') and "tokenizer done" in update
    assert "s1</a>'s agent reports" in update and 'id="task-detail"' not in update
    as_agent(me, agent.whoami)
    assert page.update([notice("agent", "s1")]) == ""  # a call that writes nothing on the timeline sends nothing
    assert page.update([notice("agent", "elsewhere")]) == ""

    as_agent(me, agent.finish_task, summary="Parser written; 12 tests.")
    finished = page.update([notice("task", str(task.id))])
    assert "The agent's summary" in finished and "Parser written; 12 tests." in finished
    shown = browser.get(f"/tasks/{task.id}/").content.decode()
    assert shown.index("tokenizer done") < shown.index(f'id="dispatch-{task.dispatch_id}"')  # newest first


def test_a_task_the_agent_pulled_and_failed_says_so_and_a_persons_failure_does_not_claim_the_agent():
    me = caller()
    TaskFactory(title="Pulled")
    pulled = as_agent(me, agent.next_task)
    as_agent(me, agent.fail_task, reason="The spec contradicts itself.")
    shown = TaskPage({"id": str(pulled.id)}).snapshot()
    assert "pulled by the agent of" in shown and "Why the agent failed it" in shown
    assert "The spec contradicts itself." in shown

    other = assigned_task("s2", title="By hand")
    with event_context(actor="alice", source="test"):
        task_services.task_fail(other.id, reason="not needed", expected_version=other.version)
    by_person = TaskPage({"id": str(other.id)}).snapshot()
    assert "not needed" in by_person and "Why the agent failed it" not in by_person
    assert "to <a" in by_person and "pulled by the agent" not in by_person
