"""The session side of the agent tools: calls recorded and rate limited across processes (the count is in the
database), progress, and questions answered exactly once through the outbox, withdrawn with their session."""

import io
import json
import threading
from datetime import UTC, datetime, timedelta

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.test import Client

from events_app import store
from events_app.store import event_context
from sessions_app import agent_reports, credentials
from sessions_app import events as ev
from sessions_app.errors import AgentDenied, RateLimited, SessionConflict, SessionError, UnknownSession
from sessions_app.models import AgentCall, AgentQuestion, OutboxMessage
from tests.sessions_app.factories import SessionFactory


@pytest.fixture(autouse=True)
def data_dir(tmp_path, settings):
    settings.DATA_DIR = tmp_path


def started(name: str = "s1") -> credentials.IssuedCredential:
    issued = credentials.issue(name, "self")
    SessionFactory(name=name)
    return issued


def ask(name: str = "s1", text: str = "Which database?", options=()) -> AgentQuestion:
    with event_context(actor=name, source="agent"):
        return agent_reports.question_ask(name, text=text, options=list(options), task_id=None)


@pytest.mark.django_db
def test_a_call_is_recorded_with_its_tool_task_and_one_line_of_detail():
    issued = started()
    with event_context(actor="s1", source="agent"):
        agent_reports.call_record("s1", issued.digest, tool="read_document", task_id=3, detail="docs/a.md\n 1-5")
        agent_reports.progress_report("s1", issued.digest, task_id=3, note="parser done")
    calls = [(c.tool, c.task_id, c.detail) for c in AgentCall.objects.order_by("position")]
    assert calls == [("read_document", 3, "docs/a.md 1-5"), ("report_progress", 3, "parser done")]
    recorded = list(store.read(stream_type="agent", stream_id="s1", event_types=["AgentToolCalled"]))
    assert recorded[0].metadata["actor"] == "s1" and recorded[0].metadata["source"] == "agent"


@pytest.mark.django_db
def test_a_call_with_a_revoked_credential_writes_nothing():
    issued = started()
    credentials.revoke("s1", "the session was killed")
    before = store.last_position()
    with pytest.raises(AgentDenied):
        agent_reports.call_record("s1", issued.digest, tool="whoami")
    assert store.last_position() == before


@pytest.mark.django_db
def test_calls_beyond_the_rate_limit_are_refused_and_write_nothing(settings):
    settings.CHORUS_AGENT_MAX_CALLS, settings.CHORUS_AGENT_CALL_SECONDS = 3, 60
    issued, other = started("s1"), started("s2")
    for _ in range(3):
        agent_reports.call_record("s1", issued.digest, tool="whoami")
    before = store.last_position()
    with pytest.raises(
        RateLimited, match=r"made 3 calls .* in the last 60 s; the limit is 3: try again in \d+ s"
    ) as no:
        agent_reports.progress_report("s1", issued.digest, task_id=None, note="more")
    assert no.value.status == 429 and store.last_position() == before
    agent_reports.call_record("s2", other.digest, tool="whoami")  # the limit is per session


def test_retry_after_counts_from_the_oldest_call_that_still_fills_the_window():
    now = datetime(2030, 1, 1, tzinfo=UTC)
    times = [now - timedelta(seconds=s) for s in (50, 30, 10)]
    assert agent_reports.retry_after(times, now, limit=4, seconds=60) is None
    assert agent_reports.retry_after(times, now, limit=3, seconds=60) == 10
    assert agent_reports.retry_after(times, now, limit=2, seconds=60) == 30
    assert agent_reports.retry_after([now], now + timedelta(seconds=59.9), limit=1, seconds=60) == 1


@pytest.mark.django_db(transaction=True)
def test_the_rate_limit_holds_for_calls_racing_from_several_connections(settings):
    settings.CHORUS_AGENT_MAX_CALLS = 5
    issued = started()
    barrier = threading.Barrier(4)
    outcomes = []

    def caller():
        try:
            barrier.wait()
            for _ in range(3):
                try:
                    agent_reports.call_record("s1", issued.digest, tool="whoami")
                    outcomes.append("ok")
                except RateLimited:
                    outcomes.append("limited")
        finally:
            connection.close()

    threads = [threading.Thread(target=caller) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["limited"] * 7 + ["ok"] * 5
    assert AgentCall.objects.count() == 5


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("value", "message"),
    [
        (None, "must be text"),
        ("  \n", "is empty"),
        ("x" * 2_001, "has 2,001 characters; the limit is 2,000"),
    ],
)
def test_texts_are_checked_against_their_limit(value, message):
    with pytest.raises(SessionError, match=message) as refused:
        agent_reports.checked_text("note", value, agent_reports.LIMITS.note)
    assert refused.value.status == 400


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ("yes", "a list of texts"),
        (["a"] * 2 + ["b"], "must differ"),
        ([str(n) for n in range(11)], "at most 10 options, not 11"),
        (["ok", "x" * 201], "option has 201 characters"),
        (["ok", ""], "option is empty"),
    ],
)
def test_options_are_checked(options, message):
    with pytest.raises(SessionError, match=message):
        agent_reports.checked_options(options)


def test_options_come_back_stripped():
    assert agent_reports.checked_options(None) == []
    assert agent_reports.checked_options((" Postgres ", "SQLite")) == ["Postgres", "SQLite"]


@pytest.mark.django_db
def test_an_answer_is_recorded_and_queued_for_the_agent_as_one_message():
    started()
    first, second = ask(text="Which database?", options=["Postgres", "SQLite"]), ask(text="May I delete x?")
    assert first.is_open and first.options == ["Postgres", "SQLite"] and first.id.startswith("q-")
    with event_context(actor="alice", source="test"):
        answered = agent_reports.question_answer("s1", " SQLite ")
    assert answered.id == first.id  # the oldest open question
    assert (answered.state, answered.answer, answered.answered_by) == ("answered", "SQLite", "alice")
    message = OutboxMessage.objects.get(pk=answered.message_id)
    assert message.text == f"Answer to your question ({first.id}): SQLite" and message.state == "queued"
    assert message.sender == ""  # a person's answer
    with pytest.raises(SessionConflict, match="already answered by alice"):
        agent_reports.question_answer("s1", "Postgres", question_id=first.id)
    assert agent_reports.question_answer("s1", "yes", question_id=second.id).answer == "yes"
    with pytest.raises(SessionConflict, match="no open question"):
        agent_reports.question_answer("s1", "anything")
    assert OutboxMessage.objects.count() == 2


@pytest.mark.django_db
def test_an_answer_to_another_sessions_question_or_no_question_is_refused_and_writes_nothing():
    started("s1"), started("s2")
    question = ask("s1")
    before = store.last_position()
    with pytest.raises(UnknownSession, match="session s2 has no question"):
        agent_reports.question_answer("s2", "yes", question_id=question.id)
    with pytest.raises(UnknownSession, match="no question 'q-nope'"):
        agent_reports.question_answer("s1", "yes", question_id="q-nope")
    with pytest.raises(SessionError, match="the answer is empty"):
        agent_reports.question_answer("s1", " ")
    assert store.last_position() == before


@pytest.mark.django_db(transaction=True)
def test_two_people_answering_at_once_make_one_answer_and_one_message():
    started()
    question = ask()
    barrier = threading.Barrier(2)
    won, lost = [], []

    def person(answer):
        try:
            barrier.wait()
            won.append(agent_reports.question_answer("s1", answer, question_id=question.id).answer)
        except SessionConflict as exc:
            lost.append(str(exc))
        finally:
            connection.close()

    threads = [threading.Thread(target=person, args=(answer,)) for answer in ("yes", "no")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(won) == 1 and len(lost) == 1 and "answered" in lost[0]
    assert [m.text.rsplit(": ", 1)[1] for m in OutboxMessage.objects.all()] == won
    assert len(list(store.read(stream_type="question", event_types=["QuestionAnswered"]))) == 1


@pytest.mark.django_db
def test_open_questions_are_withdrawn_when_the_session_ends_and_can_no_longer_be_answered():
    started()
    question = ask()
    store.append("session", "s1", store.stream_version("session", "s1"), [ev.SessionKilled(leftover_pids=[])])
    question.refresh_from_db()
    assert (question.state, question.withdrawn_reason) == ("withdrawn", "the session was killed")
    with pytest.raises(SessionConflict, match="withdrawn: the session was killed"):
        agent_reports.question_answer("s1", "too late", question_id=question.id)


@pytest.mark.django_db
def test_a_restart_withdraws_the_old_agents_questions_but_not_those_of_the_agent_it_started():
    started()
    old = ask(text="old agent asks")
    credentials.issue("s1", "self")  # the restart's launch
    new = ask(text="new agent asks")
    store.append("session", "s1", store.stream_version("session", "s1"), [ev.SessionRestarted(pane_id="%2", pid=None)])
    old.refresh_from_db(), new.refresh_from_db()
    assert (old.state, new.state) == ("withdrawn", "open")


@pytest.mark.django_db
def test_a_person_lists_and_answers_questions_from_the_command_line():
    started()
    first, second = ask(text="Which database?", options=["Postgres", "SQLite"]), ask(text="May I delete x?")
    out = io.StringIO()
    call_command("sessions", "questions", "s1", stdout=out)
    assert [line.split()[0] for line in out.getvalue().splitlines()] == ["ID", first.id, second.id]
    assert "Postgres | SQLite" in out.getvalue()
    out = io.StringIO()
    call_command("sessions", "answer", "s1", "yes", "--question", second.id, stdout=out)
    assert out.getvalue() == f"answered {second.id}: typed into s1 as a message when it is idle\n"
    out = io.StringIO()
    call_command("sessions", "--json", "answer", "s1", "SQLite", stdout=out)
    assert json.loads(out.getvalue())["id"] == first.id
    with pytest.raises(CommandError, match=r"^session s1 has no open question$"):
        call_command("sessions", "answer", "s1", "again")
    out = io.StringIO()
    call_command("sessions", "--json", "questions", "s1", "--all", stdout=out)
    assert [(q["state"], q["answered_by"]) for q in json.loads(out.getvalue())] == [("answered", "cli")] * 2


@pytest.mark.django_db
def test_the_api_lists_a_sessions_questions_and_takes_an_answer(settings, tmp_path, monkeypatch):
    settings.PROJECT_ROOT = tmp_path
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    api = Client(HTTP_AUTHORIZATION=f"Bearer {settings.CHORUS_TOKEN}")
    started()
    question = ask(text="Which database?", options=["Postgres", "SQLite"])
    [listed] = api.get("/api/sessions/s1/questions").json()
    assert (listed["id"], listed["state"], listed["options"]) == (question.id, "open", ["Postgres", "SQLite"])
    answered = api.post(
        "/api/sessions/s1/questions/answer",
        {"text": "SQLite", "question_id": question.id},
        content_type="application/json",
    )
    assert answered.status_code == 200, answered.content
    assert (answered.json()["state"], answered.json()["answered_by"]) == ("answered", "api-token")
    assert api.get("/api/sessions/s1/questions").json() == []
    assert len(api.get("/api/sessions/s1/questions?closed=true").json()) == 1
    again = api.post("/api/sessions/s1/questions/answer", {"text": "no"}, content_type="application/json")
    assert (again.status_code, again.json()["detail"]) == (409, "session s1 has no open question")
    message = api.get("/api/sessions/s1/outbox").json()[0]
    assert (message["text"], message["sender"]) == (f"Answer to your question ({question.id}): SQLite", "")
