"""Assigning a task builds its prompt and queues it for a session; dispatch does so by itself for opted-in idle
sessions. One task per session and one session per task, whoever races."""

import contextlib

import pytest

from events_app import projection, store
from events_app.store import ConcurrencyError
from sessions_app import services as session_services
from sessions_app.models import OutboxMessage
from tasks_app import git, services
from tasks_app.errors import TaskConflict, UnknownTask
from tasks_app.models import Dispatch, SessionSlot, Task
from tasks_app.services.assignment import NotAnAgent
from tests.tasks_app.factories import SessionFactory, TaskFactory
from tests.tasks_app.helpers import event_types, numbered, session_stops

pytestmark = pytest.mark.django_db


@pytest.fixture
def spec(docs):
    docs.write("spec.md", numbered(30))
    return docs


def test_assign_queues_the_prompt_claims_the_session_and_records_the_dispatch(spec, person):
    SessionFactory(name="s1")
    task = services.task_create("Do it", "carefully", references=["spec.md:3-4"])
    assigned = services.task_assign(task.id, "s1", expected_version=task.version)
    message = OutboxMessage.objects.get()
    assert (assigned.status, assigned.session, assigned.message_id) == ("assigned", "s1", message.id)
    assert (message.session, message.state) == ("s1", "queued")
    assert message.text == "Task 1: Do it\n\ncarefully\n\nspec.md:3-4\n```\nline 3\nline 4\n```"
    assert SessionSlot.objects.get(pk="s1").task_id == task.id
    dispatch = Dispatch.objects.get()
    assert (dispatch.prompt, dispatch.session, dispatch.message_id, dispatch.via, dispatch.actor) == (
        message.text,
        "s1",
        message.id,
        "person",
        "alice",
    )
    assert event_types("assignment") == ["SessionSlotClaimed"]


def test_moved_text_is_reanchored_when_assigning_and_the_prompt_quotes_it(spec):
    SessionFactory(name="s1")
    task = services.task_create("T", references=["spec.md:3-4"])
    spec.write("spec.md", "new\nnew\n" + numbered(30), scan=False)
    services.task_assign(task.id, "s1", expected_version=task.version)
    assert "spec.md:5-6\n```\nline 3\nline 4" in OutboxMessage.objects.get().text
    assert event_types()[-2:] == ["ReferenceReanchored", "TaskAssigned"]


@pytest.mark.parametrize(
    ("setup", "error"),
    [
        (lambda t: services.task_archive(t.id, expected_version=t.version), "is archived"),
        (lambda t: services.task_cancel(t.id, expected_version=t.version), "cancelled, so it cannot be assigned"),
        (lambda t: services.task_add_dependency(t.id, TaskFactory().id, expected_version=t.version), r"waits for .*2"),
        (lambda t: session_stops("s1"), "session s1 is ended"),
    ],
)
def test_assign_refuses_and_writes_nothing(spec, setup, error):
    SessionFactory(name="s1")
    task = TaskFactory(title="T")
    setup(task)
    task = Task.objects.get(pk=1)
    position = store.last_position()
    with pytest.raises(TaskConflict, match=error):
        services.task_assign(task.id, "s1", expected_version=task.version)
    assert store.last_position() == position


def test_assign_to_an_unknown_session_is_a_404(spec):
    task = TaskFactory(title="T")
    with pytest.raises(UnknownTask, match="no session named 'ghost'"):
        services.task_assign(task.id, "ghost", expected_version=task.version)


def test_one_task_per_session(spec):
    SessionFactory(name="s1")
    first, second = TaskFactory(title="a"), TaskFactory(title="b")
    services.task_assign(first.id, "s1", expected_version=first.version)
    position = store.last_position()
    with pytest.raises(services.SessionBusy, match="already working on task 1"):
        services.task_assign(second.id, "s1", expected_version=second.version)
    assert store.last_position() == position


def test_the_limit_of_active_tasks(spec, settings):
    settings.CHORUS_MAX_ACTIVE_TASKS = 1
    SessionFactory(name="s1")
    SessionFactory(name="s2")
    first, second = TaskFactory(title="a"), TaskFactory(title="b")
    services.task_assign(first.id, "s1", expected_version=first.version)
    with pytest.raises(services.LimitReached, match="the limit is 1"):
        services.task_assign(second.id, "s2", expected_version=second.version)


@contextlib.contextmanager
def racing(competitor):
    """Run `competitor` once, between an assignment's reads and its transaction, where a real race falls: the
    assignment asks for git's HEAD there."""
    pending = [competitor]

    def head():
        if pending:
            pending.pop()()

    with git.head_reader(head):
        yield


def test_a_session_taken_meanwhile_makes_the_late_assignment_write_nothing(spec):
    SessionFactory(name="s1")
    mine, theirs = TaskFactory(title="mine"), TaskFactory(title="theirs")
    with (
        racing(lambda: services.task_assign(theirs.id, "s1", expected_version=theirs.version)),
        pytest.raises(services.SessionBusy, match="given another task meanwhile"),
    ):
        services.task_assign(mine.id, "s1", expected_version=mine.version)
    assert Task.objects.get(pk=mine.id).status == "ready"
    assert list(OutboxMessage.objects.values_list("session", flat=True)) == ["s1"]
    assert SessionSlot.objects.get(pk="s1").task_id == theirs.id


def test_a_task_taken_meanwhile_leaves_no_claimed_session_and_no_message(spec):
    SessionFactory(name="s1")
    SessionFactory(name="s2")
    task = TaskFactory(title="contested")
    with (
        racing(lambda: services.task_assign(task.id, "s2", expected_version=task.version)),
        pytest.raises(ConcurrencyError),
    ):
        services.task_assign(task.id, "s1", expected_version=task.version)
    assert Task.objects.get(pk=task.id).session == "s2"
    assert list(OutboxMessage.objects.values_list("session", flat=True)) == ["s2"]
    assert SessionSlot.objects.filter(pk="s1").first() is None
    assert projection.verify() == []


def test_dispatch_gives_the_most_urgent_unblocked_task_to_each_free_opted_in_session(spec):
    low = TaskFactory(title="low", priority=1)
    high = TaskFactory(title="high", priority=9)
    blocked = services.task_create("blocked", priority=50, depends_on=[low.id])
    services.task_create("stale", priority=40, references=["spec.md:1-2"])
    spec.write("spec.md", "changed\n" + numbered(30)[7:])
    services.task_create("parked", priority=99, status="backlog")
    SessionFactory(name="b-idle", auto_dispatch=True)
    SessionFactory(name="a-idle", auto_dispatch=True)
    SessionFactory(name="busy", status="busy", auto_dispatch=True)
    SessionFactory(name="manual")
    SessionFactory(name="queued", auto_dispatch=True)
    session_services.session_send("queued", "a person's message")
    done = services.dispatch_round()
    assert [(t.id, t.session) for t in done.assigned] == [(high.id, "b-idle"), (low.id, "a-idle")]
    assert Task.objects.get(pk=blocked.id).status == "ready"
    assert services.dispatch_round().assigned == []
    assert {d.via for d in Dispatch.objects.all()} == {"dispatch"}


def test_dispatch_reports_a_task_it_could_not_send(spec, settings):
    settings.CHORUS_MAX_MESSAGE_CHARS = 20
    SessionFactory(name="s1", auto_dispatch=True)
    task = services.task_create("a title long enough to be over the limit")
    done = services.dispatch_round()
    assert done.assigned == []
    assert done.skipped == [(task.id, "cannot send task 1 to s1: the message has 48 characters; the limit is 20")]


def test_dispatch_stops_at_the_limit(spec, settings):
    settings.CHORUS_MAX_ACTIVE_TASKS = 2
    for name in ("s1", "s2", "s3"):
        SessionFactory(name=name, auto_dispatch=True)
    TaskFactory.create_batch(3)
    assert len(services.dispatch_round().assigned) == 2
    assert Task.objects.filter(status="assigned").count() == 2


def test_a_stale_dispatcher_view_assigns_nothing_twice(spec):
    """Two dispatchers read the same free sessions and ready tasks; the one that writes second gets nothing."""
    SessionFactory(name="s1", auto_dispatch=True)
    SessionFactory(name="s2", auto_dispatch=True)
    TaskFactory.create_batch(2)
    seen = services.DispatchView.now()
    first = services.dispatch_round()
    second = services.dispatch_round(seen)
    assert len(first.assigned) == 2 and second.assigned == []
    assert OutboxMessage.objects.count() == 2
    assert sorted(SessionSlot.objects.values_list("task_id", flat=True)) == [1, 2]


def test_unassign_frees_the_session_and_withdraws_the_queued_prompt(spec):
    SessionFactory(name="s1", status="busy")
    task = TaskFactory(title="T")
    task = services.task_assign(task.id, "s1", expected_version=task.version)
    task = services.task_unassign(task.id, expected_version=task.version, reason="wrong agent")
    assert (task.status, SessionSlot.objects.get(pk="s1").task_id) == ("ready", None)
    assert OutboxMessage.objects.get().state == "cancelled"
    assert Dispatch.objects.get().outcome == "unassigned"
    assert event_types("assignment") == ["SessionSlotClaimed", "SessionSlotReleased"]


def test_a_shell_is_no_agent_so_assigning_it_a_task_needs_a_persons_confirmation(spec, person):
    SessionFactory(name="sh", profile="shell")
    task = services.task_create("Do it", references=["spec.md:3-4"])
    before = store.last_position()
    with pytest.raises(NotAnAgent, match=r"session sh runs shell, which is not an agent: .*; confirm to assign it"):
        services.task_assign(task.id, "sh", expected_version=task.version)
    assert store.last_position() == before and not OutboxMessage.objects.exists()
    with pytest.raises(NotAnAgent, match="session sh runs shell, which is not an agent"):
        services.task_assign(task.id, "sh", expected_version=task.version, via="handoff", confirm_not_agent=True)
    assigned = services.task_assign(task.id, "sh", expected_version=task.version, confirm_not_agent=True)
    assert (assigned.status, assigned.session) == ("assigned", "sh")


def test_dispatch_never_picks_a_shell(spec):
    SessionFactory(name="a-shell", profile="shell", auto_dispatch=True)
    task = services.task_create("T")
    assert services.dispatch_round().assigned == []
    SessionFactory(name="b-agent", auto_dispatch=True)
    assert [(t.id, t.session) for t in services.dispatch_round().assigned] == [(task.id, "b-agent")]
