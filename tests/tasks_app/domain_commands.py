"""Task services for the live == rebuilt property test (see tests/events_app/domain_commands.py).

References need a recorded document, so one document of this module's own tree is rewritten and recorded by
documents_app (whose events move the references along, through tasks' policy); sessions appear as the sessions
worker records them, without tmux, and their tasks follow them through policies. Most commands act on the version of
the task as it is now, one with any version (a conflict). Their agents get tools and call them (the facade), and a
person answers their questions.
"""

import atexit
import functools
import shutil
import tempfile
from datetime import timedelta
from pathlib import Path

from django.test import override_settings
from django.utils import timezone
from hypothesis import strategies as st

from documents_app.services import document_changed_on_disk
from events_app.errors import DomainError
from events_app.models import StoredEvent
from sessions_app import agent_reports, credentials
from sessions_app.models import OutboxMessage, Session
from tasks_app import git, services
from tasks_app.errors import TaskError
from tasks_app.models import Task
from tasks_app.services import agent
from tests.events_app import domain_commands
from tests.tasks_app.helpers import (
    delivery_ends,
    delivery_starts,
    numbered,
    session_appears,
    session_killed,
    session_status,
)

ROOT = Path(tempfile.mkdtemp(prefix="chorus-tasks-property-"))
atexit.register(shutil.rmtree, ROOT, ignore_errors=True)
PATH = "tasks-spec.md"
VERSIONS = {
    "original": numbered(12),
    "moved": "new\nlines\n" + numbered(12),
    "edited": numbered(12).replace("line 5", "line five"),
    "gone": None,
}
tasks = st.sampled_from([1, 2, 3])
sessions = st.sampled_from(["p1", "p2"])


def _version(task_id: int) -> int:
    task = Task.objects.filter(pk=task_id).first()
    return task.version if task else 0


def document_becomes(version: str) -> None:
    """The tasks' document is saved (or deleted) and the watcher reports it."""
    if not StoredEvent.objects.filter(stream_type="document", stream_id=PATH).exists():
        shutil.rmtree(ROOT, ignore_errors=True)
        ROOT.mkdir()
    target = ROOT / PATH
    if VERSIONS[version] is None:
        target.unlink(missing_ok=True)
    else:
        target.write_text(VERSIONS[version])
    with override_settings(PROJECT_ROOT=ROOT):
        document_changed_on_disk(PATH)


def task_created(title: str, priority: int, depends_on: list, anchor: tuple | None) -> None:
    """A task, anchored (start, length) to the document or not."""
    references = [f"{PATH}:{anchor[0]}-{anchor[0] + anchor[1]}"] if anchor else []
    with override_settings(PROJECT_ROOT=ROOT):
        services.task_create(title, priority=priority, depends_on=depends_on, references=references)


def reference_added(task_id: int, start: int, end: int) -> None:
    with override_settings(PROJECT_ROOT=ROOT):
        services.reference_add(task_id, PATH, start, end, expected_version=_version(task_id))


def reference_refreshed(task_id: int, number: int) -> None:
    with override_settings(PROJECT_ROOT=ROOT):
        services.reference_refresh(task_id, f"{task_id}.{number}", expected_version=_version(task_id))


def current(service):
    """The service called with the task's current version."""

    def call(task_id: int, **kwargs):
        with override_settings(PROJECT_ROOT=ROOT):
            return service(task_id, expected_version=_version(task_id), **kwargs)

    call.__name__ = service.__name__
    return call


def session_seen(name: str, status: str) -> None:
    """The sessions worker saw a session appear or change its status."""
    session = Session.objects.filter(pk=name, lifecycle="live").first()
    if session is None:
        session_appears(name, status="idle", auto_dispatch=True)
    elif session.status != status:
        session_status(name, status)


def prompts_delivered(worked: bool) -> None:
    """The sessions worker typed the queued prompts of idle sessions, saw each agent go busy (or not) and confirmed
    (or failed) the delivery."""
    for task in Task.objects.filter(status="assigned"):
        queued = OutboxMessage.objects.filter(pk=task.message_id, state="queued").exists()
        if queued and Session.objects.filter(pk=task.session, status="idle").exists():
            delivery_starts(task.message_id)
            if worked:
                session_status(task.session, "busy")
            delivery_ends(task.message_id, delivered=worked)


def dispatched() -> None:
    with override_settings(PROJECT_ROOT=ROOT):
        services.dispatch_round()


# The secret of each session's latest credential (one of a rolled-back transaction, or of an earlier example, is
# simply refused).
SECRETS: dict[str, str] = {}
AGENT_CALLS = {
    "whoami": lambda me, text: agent.whoami(me),
    "current_task": lambda me, text: agent.current_task(me),
    "report_progress": lambda me, text: agent.report_progress(me, note=text),
    "finish_task": lambda me, text: agent.finish_task(me, summary=text),
    "fail_task": lambda me, text: agent.fail_task(me, reason=text),
    "ask_human": lambda me, text: agent.ask_human(me, question=text, options=["yes", "no"]),
    "next_task": lambda me, text: agent.next_task(me),
    "send_message": lambda me, text: agent.send_message(me, session="p2" if me.session == "p1" else "p1", text=text),
}


def agent_tools_given(name: str, tier: str) -> None:
    """The session's agent was (re)started with tools: a new credential, the old one revoked."""
    SECRETS[name] = credentials.issue(name, tier).secret


def agent_called(name: str, tool: str, text: str) -> None:
    with override_settings(PROJECT_ROOT=ROOT):
        AGENT_CALLS[tool](agent.authenticate(SECRETS.get(name, "")), text)


def question_answered(name: str, text: str) -> None:
    agent_reports.question_answer(name, text)


def session_ended(name: str) -> None:
    """A person killed the session: its task fails, its credential is revoked, its questions are withdrawn."""
    if Session.objects.filter(pk=name, lifecycle="live").exists():
        session_killed(name)


def quiet_period_passed() -> None:
    """The worker's timer looked, long after every delivery."""
    services.tasks_review_quiet(now=timezone.now() + timedelta(days=1))


# This module's commands, for the tasks-only run of the property (tests/tasks_app/test_property.py).
COMMANDS = []


def command(service, **kwargs):
    """Register `service` for both runs; it reads no git HEAD (the property is about events, and it starts no
    process)."""

    @functools.wraps(service)
    def without_git(**arguments):
        with git.head_reader(lambda: None):
            return service(**arguments)

    COMMANDS.append(domain_commands.command(without_git, **kwargs))


lines = st.integers(0, 14)
notes = st.text(max_size=6)
command(document_becomes, version=st.sampled_from(list(VERSIONS)), weight=3)
command(
    task_created,
    title=st.sampled_from(["a", "b", "c", " "]),
    priority=st.integers(-2, 2),
    depends_on=st.lists(tasks, max_size=2),
    anchor=st.none() | st.tuples(st.integers(1, 8), st.integers(0, 3)),
    raises=(TaskError,),
    weight=4,
)
command(reference_added, task_id=tasks, start=lines, end=lines, raises=(TaskError,))
command(reference_refreshed, task_id=tasks, number=st.integers(1, 2), raises=(TaskError,))
command(
    current(services.reference_remove), task_id=tasks, reference_id=st.sampled_from(["1.1", "2.1"]), raises=(TaskError,)
)
command(current(services.references_check), task_id=tasks, raises=(TaskError,))
command(
    current(services.task_update),
    task_id=tasks,
    title=st.none() | st.sampled_from(["x", "y"]),
    priority=st.none() | st.integers(-2, 2),
    add_labels=st.lists(st.sampled_from(["ui", "db"]), max_size=2),
    remove_labels=st.lists(st.sampled_from(["ui", "db"]), max_size=1),
    raises=(TaskError,),
)
command(
    services.task_update,
    task_id=tasks,
    expected_version=st.integers(0, 6),
    priority=st.integers(0, 3),
    raises=(TaskError,),
)
command(current(services.task_add_dependency), task_id=tasks, depends_on=tasks, raises=(TaskError,))
command(current(services.task_remove_dependency), task_id=tasks, depends_on=tasks, raises=(TaskError,))
command(
    current(services.task_set_status),
    task_id=tasks,
    status=st.sampled_from(["backlog", "ready", "done", "failed", "cancelled"]),
    note=notes,
    raises=(TaskError,),
)
command(current(services.task_archive), task_id=tasks, raises=(TaskError,))
command(
    current(services.task_set_isolation),
    task_id=tasks,
    isolation=st.sampled_from(["shared", "worktree"]),
    raises=(TaskError,),
)
command(current(services.task_unarchive), task_id=tasks, raises=(TaskError,))
command(session_seen, name=sessions, status=st.sampled_from(["idle", "busy"]), weight=2)
command(current(services.task_assign), task_id=tasks, session=sessions, raises=(TaskError,), weight=2)
command(dispatched, weight=2)
command(prompts_delivered, worked=st.booleans(), weight=3)
command(quiet_period_passed)
command(agent_tools_given, name=sessions, tier=st.sampled_from(credentials.TIERS))
command(
    agent_called,
    name=sessions,
    tool=st.sampled_from(list(AGENT_CALLS)),
    text=st.sampled_from(["done", "", "x" * 2_001]),
    raises=(DomainError,),
    weight=4,
)
command(question_answered, name=sessions, text=st.sampled_from(["yes", " "]), raises=(DomainError,))
command(session_ended, name=sessions)
