"""The agent facade: each tool for its caller's own session and task, its tier, its limits, and refusals that write
nothing; next_task under dispatch's rules, also racing it."""

import threading

import pytest
from django.db import connection

from events_app import store
from events_app.errors import Conflict, DomainError, NotFound
from sessions_app import agent_reports, credentials
from sessions_app.errors import AgentDenied, Forbidden, RateLimited
from sessions_app.models import AgentCall, AgentQuestion, OutboxMessage
from tasks_app import prompts, selectors, services
from tasks_app.models import Dispatch, SessionSlot, Task, TaskNote
from tasks_app.services import agent
from tasks_app.services.assignment import LimitReached, NotAnAgent, SessionBusy
from tests.tasks_app.factories import SessionFactory, TaskFactory, assigned_task
from tests.tasks_app.helpers import numbered, session_killed

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def data_dir(tmp_path, settings):
    settings.DATA_DIR = tmp_path / "data"


@pytest.fixture
def spec(docs):
    docs.write("spec.md", numbered(30))
    return docs


def caller(name: str = "s1", tier: str = "self", **fields) -> agent.AgentCaller:
    """A live session whose agent has tools of `tier`, authenticated as the MCP server or a twin does."""
    issued = credentials.issue(name, tier)
    SessionFactory(name=name, **fields)
    return agent.authenticate(issued.secret)


def calls() -> list[str]:
    return [call.tool for call in AgentCall.objects.order_by("position")]


class Nothing:
    """Asserts that nothing was appended inside the block (which must raise `error`, matching `match`)."""

    def __init__(self, error=DomainError, match=None):
        self.raises = pytest.raises(error, match=match)

    def __enter__(self):
        self.before = store.last_position()
        self.info = self.raises.__enter__()
        return self.info

    def __exit__(self, *exc):
        suppressed = self.raises.__exit__(*exc)
        assert store.last_position() == self.before
        return suppressed


def test_a_credential_authenticates_its_session_and_nothing_else():
    issued = credentials.issue("s1", "fleet-read")
    SessionFactory(name="s1", host="gpu-1")  # its host, not the answering web server's machine
    me = agent.authenticate(issued.secret)
    assert (me.session, me.profile, me.tier, me.host) == ("s1", "aider", "fleet-read", "gpu-1")
    assert issued.secret not in repr(me) and me.digest not in repr(me)
    with pytest.raises(AgentDenied, match="unknown agent credential") as refused:
        agent.authenticate("not-a-credential")
    assert refused.value.status == 401


def test_whoami_names_the_session_and_its_task_and_is_recorded_as_the_agents_call(spec):
    me = caller()
    assert agent.whoami(me).task_id is None
    task = assigned_task("s1")
    who = agent.whoami(me)
    assert (who.session, who.profile, who.tier, who.host, who.task_id) == ("s1", "aider", "self", me.host, task.id)
    recorded = list(store.read(stream_type="agent", stream_id="s1", event_types=["AgentToolCalled"]))
    assert [(r.metadata["actor"], r.metadata["source"], r.event.task_id) for r in recorded] == [
        ("s1", "agent", None),
        ("s1", "agent", task.id),
    ]


def test_current_task_quotes_each_reference_as_its_document_is_now_and_flags_stale_and_missing(spec):
    me = caller()
    assert agent.current_task(me) is None
    spec.write("other.md", "a\nb\n")
    spec.write("gone.md", "x\n")
    task = assigned_task(
        "s1", description="Do it", references=["spec.md:3-4", "spec.md:10-11", "other.md:1-1", "gone.md:1-1"]
    )
    spec.write("spec.md", "new\n" + numbered(30).replace("line 10\n", "line ten\n"), scan=False)
    (spec.root / "gone.md").unlink()
    now = agent.current_task(me)
    assert (now.id, now.title, now.description, now.status) == (task.id, task.title, "Do it", "assigned")
    shown = [(r.path, r.start, r.end, r.state, r.stale, r.missing, r.text) for r in now.references]
    assert shown == [
        ("spec.md", 4, 5, "current", False, False, "line 3\nline 4"),
        ("spec.md", 11, 12, "stale", True, False, "line ten\nline 11"),
        ("other.md", 1, 1, "current", False, False, "a"),
        ("gone.md", 1, 1, "missing", False, True, ""),
    ]


def test_progress_is_a_note_on_the_tasks_timeline_and_without_a_task_on_the_session_only(spec):
    me = caller()
    assert "no task at work" in agent.report_progress(me, note="warming up").message
    task = assigned_task("s1")
    ack = agent.report_progress(me, note="  parser done \n")
    assert (ack.task_id, ack.status) == (task.id, "assigned")
    assert [(n.task_id, n.session, n.note) for n in TaskNote.objects.all()] == [(task.id, "s1", "parser done")]
    assert [n.note for n in selectors.task_notes(task.id)] == ["parser done"]
    assert calls() == ["report_progress", "report_progress"]


def test_finish_task_sends_the_task_to_review_with_the_agents_summary_and_frees_the_session(spec):
    me = caller()
    task = assigned_task("s1")
    ack = agent.finish_task(me, summary="Parser rewritten; tests pass")
    assert (ack.task_id, ack.status) == (task.id, "review")
    finished = Task.objects.get(pk=task.id)
    assert (finished.status, finished.result_note) == ("review", "Parser rewritten; tests pass")
    assert SessionSlot.objects.get(pk="s1").task_id is None
    assert Dispatch.objects.get().review_at is not None
    assert OutboxMessage.objects.get().state == "cancelled"  # its prompt was still queued
    with Nothing(Conflict, "session s1 has no task at work"):
        agent.finish_task(me, summary="again")


def test_fail_task_fails_the_task_with_the_agents_reason(spec):
    me = caller()
    task = assigned_task("s1")
    ack = agent.fail_task(me, reason="the spec contradicts itself")
    assert (ack.task_id, ack.status) == (task.id, "failed")
    assert Task.objects.get(pk=task.id).result_note == "the spec contradicts itself"


def test_a_task_named_by_the_agent_must_be_its_own(spec):
    me, _other = caller("s1"), caller("s2")
    mine, theirs = assigned_task("s1"), assigned_task("s2")
    with Nothing(Conflict, f"task {theirs.id} is not the task of session s1 \\(it is assigned, with session s2\\)"):
        agent.finish_task(me, summary="done", task_id=theirs.id)
    with Nothing(NotFound, "no task 99"):
        agent.fail_task(me, reason="no", task_id=99)
    assert agent.finish_task(me, summary="done", task_id=mine.id).status == "review"


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda me: agent.report_progress(me, note="x" * 2_001), "the note has 2,001 characters; the limit is 2,000"),
        (lambda me: agent.finish_task(me, summary=" "), "the summary is empty"),
        (lambda me: agent.fail_task(me, reason="x" * 2_001), "the reason has 2,001"),
        (lambda me: agent.ask_human(me, question="x" * 2_001), "the question has 2,001"),
        (lambda me: agent.ask_human(me, question="Which?", options=["a", "a"]), "must differ"),
        (lambda me: agent.ask_human(me, question="Which?", options=["x" * 201]), "option has 201"),
    ],
)
def test_input_over_its_limit_is_refused_and_writes_nothing(spec, call, message):
    me = caller()
    assigned_task("s1")
    with Nothing(DomainError, message) as refused:
        call(me)
    assert refused.value.status == 400


def test_ask_human_opens_a_question_on_the_session_and_returns_at_once(spec):
    me = caller()
    task = assigned_task("s1")
    asked = agent.ask_human(me, question="Postgres or SQLite?", options=["Postgres", "SQLite"])
    assert asked.options == ["Postgres", "SQLite"] and "answer will come as a message" in asked.message
    question = AgentQuestion.objects.get()
    assert (question.id, question.session, question.task_id, question.text) == (
        asked.question_id,
        "s1",
        task.id,
        "Postgres or SQLite?",
    )
    agent_reports.question_answer("s1", "SQLite")
    assert OutboxMessage.objects.filter(text__endswith="SQLite").count() == 1


def test_next_task_claims_the_most_urgent_ready_task_and_gives_its_prompt(spec):
    me = caller()
    blocker = TaskFactory(title="first", priority=1)
    TaskFactory(title="blocked", priority=9, depends_on=[blocker.id])
    TaskFactory(title="later", priority=0)
    pulled = agent.next_task(me)
    assert (pulled.id, pulled.title, pulled.status) == (blocker.id, "first", "in_progress")
    assert pulled.prompt.startswith(f"Task {blocker.id}: first") and prompts.TOOLS in pulled.prompt
    assert not OutboxMessage.objects.exists()  # the agent has the prompt: nothing is typed
    dispatch = Dispatch.objects.get()
    assert (dispatch.via, dispatch.actor, dispatch.message_id, dispatch.prompt) == ("agent", "s1", "", pulled.prompt)
    assert SessionSlot.objects.get(pk="s1").task_id == blocker.id
    with Nothing(SessionBusy, f"already working on task {blocker.id}: finish_task or fail_task first"):
        agent.next_task(me)


def test_next_task_is_none_when_nothing_is_ready_and_refused_at_the_limit(spec, settings):
    me, other = caller("s1"), caller("s2")
    assert agent.next_task(me) is None
    settings.CHORUS_MAX_ACTIVE_TASKS = 1
    TaskFactory(), TaskFactory()
    agent.next_task(me)
    with Nothing(LimitReached, "the limit is 1"):
        agent.next_task(other)


def test_next_task_skips_a_ready_task_whose_claims_overlap_a_live_claim_and_gives_the_next(spec):
    holder = assigned_task("alice", claims=["src/**"])
    me = caller()
    blocked = TaskFactory(title="blocked", priority=9, claims=["src/a.py"])
    free = TaskFactory(title="free", priority=1, claims=["docs/**"])
    pulled = agent.next_task(me)
    assert (pulled.id, pulled.title, pulled.status) == (free.id, "free", "in_progress")
    assert SessionSlot.objects.get(pk="s1").task_id == free.id
    # the skipped task wrote nothing: still ready, no session, no claim of its own
    skipped = Task.objects.get(pk=blocked.id)
    assert (skipped.status, skipped.session) == ("ready", "")
    live = [(claim.task_id, claim.glob, claim.session) for claim in selectors.live_claims()]
    assert sorted(live) == [(holder.id, "src/**", "alice"), (free.id, "docs/**", "s1")]


def test_next_task_is_for_agents_only_a_shell_gets_none(spec):
    me = caller("sh", profile="shell")
    TaskFactory()
    with Nothing(NotAnAgent, "session sh runs shell, which is not an agent: next_task is for agents"):
        agent.next_task(me)
    assert Task.objects.get().status == "ready"


def test_the_tier_bounds_what_a_caller_may_do_and_a_refusal_writes_nothing(spec):
    me = caller("s1", "self")
    reader = caller("s2", "fleet-read")
    with Nothing(Forbidden, "read_document needs the fleet-read tier; the agent tools of session s1 have self") as no:
        agent.read_document(me, path="spec.md")
    assert no.value.status == 403
    with Nothing(Forbidden, "send_message needs the fleet-write tier"):
        agent.send_message(reader, session="s1", text="hello")


def test_fleet_read_lists_the_live_sessions_and_the_tasks_and_self_may_not(spec):
    me = caller("s1", "self")
    reader = caller("s2", "fleet-read")
    first = assigned_task("s1")
    later = services.task_create("later", priority=5, labels=["docs"], depends_on=[first.id])
    with Nothing(Forbidden, "list_sessions needs the fleet-read tier"):
        agent.list_sessions(me)
    with Nothing(Forbidden, "list_tasks needs the fleet-read tier"):
        agent.list_tasks(me)

    sessions = agent.list_sessions(reader).sessions
    tasks = agent.list_tasks(reader).tasks

    assert [(s.name, s.task_id) for s in sessions] == [("s1", first.id), ("s2", None)]
    assert [(t.id, t.status, t.session, t.blocked_by) for t in tasks] == [
        (later.id, "ready", "", [first.id]),
        (first.id, "assigned", "s1", []),
    ]
    assert [t.id for t in agent.list_tasks(reader, label="docs").tasks] == [later.id]
    with Nothing(DomainError, "unknown status 'soon'"):
        agent.list_tasks(reader, status="soon")
    assert calls()[-3:] == ["list_sessions", "list_tasks", "list_tasks"]


def test_fleet_write_creates_a_task_and_hands_it_to_another_session_and_fleet_read_may_not(spec):
    reader = caller("s1", "fleet-read")
    writer = caller("s2", "fleet-write")
    caller("s3")
    with Nothing(Forbidden, "create_task needs the fleet-write tier"):
        agent.create_task(reader, title="refused")

    created = agent.create_task(writer, title="Split the parser", references=["spec.md:3-4"], labels=["found"])
    with Nothing(Forbidden, "assign_task needs the fleet-write tier"):
        agent.assign_task(reader, task_id=created.id, session="s3")
    handed = agent.assign_task(writer, task_id=created.id, session="s3")

    assert (created.status, created.labels) == ("ready", ["found"])
    assert (handed.task_id, handed.status) == (created.id, "assigned")
    task = Task.objects.get(pk=created.id)
    assert (task.session, Dispatch.objects.get(task_id=task.id).via) == ("s3", "handoff")
    assert OutboxMessage.objects.get(session="s3").state == "queued"
    recorded = store.read(stream_type="task", stream_id=str(task.id))
    assert {(e.metadata["actor"], e.metadata["source"]) for e in recorded} == {("s2", "agent")}
    with Nothing(DomainError, "reference missing.md:1-2: no document 'missing.md'"):
        agent.create_task(writer, title="bad", references=["missing.md:1-2"])


def test_read_document_reads_the_project_confined_like_the_viewer(spec):
    reader = caller("s1", "fleet-read")
    text = agent.read_document(reader, path="spec.md", start=2, end=3)
    assert (text.path, text.start, text.end, text.line_count) == ("spec.md", 2, 3, 30)
    assert [(line.number, line.text) for line in text.lines] == [(2, "line 2"), (3, "line 3")]
    assert agent.read_document(reader, path=str(spec.root / "spec.md")).end == 30
    for outside in ("../etc/passwd", "/etc/passwd", "missing.md"):
        with Nothing(DomainError):
            agent.read_document(reader, path=outside)
    assert [c.detail for c in AgentCall.objects.order_by("position")] == ["spec.md 2-3", "spec.md"]


def test_send_message_queues_for_the_other_session_with_the_sender_recorded(spec):
    writer = caller("s1", "fleet-write")
    caller("s2")
    sent = agent.send_message(writer, session="s2", text="Your turn: the API is ready")
    message = OutboxMessage.objects.get(pk=sent.message_id)
    assert (message.session, message.sender, message.state) == ("s2", "s1", "queued")
    assert message.text == "Message from session s1: Your turn: the API is ready"
    with Nothing(DomainError, "send_message is for another session"):
        agent.send_message(writer, session="s1", text="me")
    with Nothing(NotFound):
        agent.send_message(writer, session="nobody", text="hello")


def test_a_credential_revoked_after_authentication_stops_the_next_call(spec):
    me = caller()
    assigned_task("s1")
    session_killed("s1")
    with Nothing(AgentDenied, "revoked"):
        agent.report_progress(me, note="still here?")
    with pytest.raises(AgentDenied, match="revoked: the session was killed"):
        agent.authenticate(credentials.directory("s1").joinpath("credential").read_text())


def test_calls_beyond_the_rate_limit_are_refused_and_write_nothing(spec, settings):
    settings.CHORUS_AGENT_MAX_CALLS = 2
    me = caller()
    agent.whoami(me), agent.current_task(me)
    with Nothing(RateLimited, "the limit is 2") as refused:
        agent.ask_human(me, question="May I?")
    assert refused.value.status == 429


@pytest.mark.django_db(transaction=True)
def test_next_task_racing_dispatch_gives_each_task_to_one_session(spec, settings):
    settings.CHORUS_MAX_ACTIVE_TASKS = 10
    agents = [caller(f"a{n}") for n in range(3)]
    for n in range(3):
        SessionFactory(name=f"d{n}", auto_dispatch=True)
    for _ in range(4):
        TaskFactory()
    barrier = threading.Barrier(len(agents) + 1)
    errors = []

    def run(action):
        try:
            barrier.wait()
            action()
        except Exception as exc:  # reported below, whatever it is
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(lambda me=me: agent.next_task(me),)) for me in agents]
    threads.append(threading.Thread(target=run, args=(services.dispatch_round,)))
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    at_work = list(Task.objects.filter(status__in=["assigned", "in_progress"]))
    assert len(at_work) == 4 and len({task.session for task in at_work}) == 4
    slots = {slot.session: slot.task_id for slot in SessionSlot.objects.exclude(task_id=None)}
    assert sorted(slots.values()) == sorted(task.id for task in at_work)
    assert {task.session for task in at_work if task.status == "in_progress"} <= {"a0", "a1", "a2"}
