"""The worker's side of tasks: the quiet-period timer is one of its jobs; dispatch is a worker policy that the
policy runner calls when the worker starts and whenever something made a dispatch possible, and it says once why
a task cannot go."""

import logging

import pytest
from django.conf import settings

from events_app.policies import PolicyRunner, policies
from sessions_app import services as session_services
from tasks_app import policies as task_policies
from tasks_app import services
from tasks_app.models import Task
from tasks_app.worker import QuietPeriod
from tests.tasks_app.factories import SessionFactory, TaskFactory, assigned_task
from tests.tasks_app.helpers import delivery_ends, delivery_starts, session_status

pytestmark = pytest.mark.django_db


@pytest.fixture
def runner():
    """The worker's policy runner, started as the worker starts it (it dispatches what is possible then)."""
    task_policies.passed_over.clear()
    runner = PolicyRunner()
    runner.start()
    return runner


def status(task_id: int) -> str:
    return Task.objects.get(pk=task_id).status


def test_the_timer_is_one_of_the_workers_jobs_and_dispatch_one_of_its_policies():
    assert "tasks_app.worker.QuietPeriod" in settings.CHORUS_WORKER_JOBS
    assert "events_app.policies.PolicyRunner" in settings.CHORUS_WORKER_JOBS
    assert QuietPeriod().interval == settings.CHORUS_TASK_INTERVAL
    [dispatch] = [p for p in policies(in_transaction=False) if p.name == "ready_tasks_go_to_free_sessions"]
    assert dispatch.at_start


def test_the_timer_sends_a_quiet_task_to_review(docs, settings):
    task = assigned_task("s1")
    delivery_starts(task.message_id)
    delivery_ends(task.message_id)
    settings.CHORUS_TASK_QUIET_SECONDS = 0
    QuietPeriod().tick()
    assert status(task.id) == "review"


def test_the_worker_dispatches_what_became_possible_while_it_was_down(docs):
    SessionFactory(name="s1", auto_dispatch=True)
    task = TaskFactory()
    PolicyRunner().start()
    assert (status(task.id), Task.objects.get(pk=task.id).session) == ("assigned", "s1")


def test_a_session_back_at_its_prompt_gets_the_next_task(docs, runner):
    SessionFactory(name="s1", auto_dispatch=True, status="busy")
    first, second = TaskFactory(priority=2), TaskFactory(priority=1)
    runner.tick()
    assert (status(first.id), status(second.id)) == ("ready", "ready"), "s1 is busy"
    session_status("s1", "idle")
    runner.tick()
    first = Task.objects.get(pk=first.id)
    assert (first.status, status(second.id)) == ("assigned", "ready")
    delivery_starts(first.message_id)
    session_status("s1", "busy")
    delivery_ends(first.message_id)
    runner.tick()
    assert status(second.id) == "ready", "s1 works on the first task"
    session_status("s1", "idle")
    runner.tick()
    assert status(first.id) == "review"
    assert status(second.id) == "assigned", "the session freed by review gets the next task"


def test_a_task_made_ready_sets_it_off(docs, runner):
    SessionFactory(name="s1", auto_dispatch=True)
    task = TaskFactory(status="backlog")
    runner.tick()
    services.task_ready(task.id, expected_version=task.version)
    runner.tick()
    assert status(task.id) == "assigned"


def test_a_session_opted_in_sets_it_off(docs, runner):
    SessionFactory(name="s1")
    task = TaskFactory()
    runner.tick()
    session_services.session_set_auto_dispatch("s1", True)
    runner.tick()
    assert status(task.id) == "assigned"


def test_a_dependency_done_sets_it_off(docs, runner):
    first = assigned_task("by-hand")
    SessionFactory(name="s1", auto_dispatch=True)
    second = TaskFactory(depends_on=[first.id])
    runner.tick()
    assert status(second.id) == "ready", "it waits for the first"
    services.task_done(first.id, expected_version=first.version)
    runner.tick()
    assert (status(second.id), Task.objects.get(pk=second.id).session) == ("assigned", "s1")


def test_a_message_delivered_sets_it_off(docs, runner):
    SessionFactory(name="s1", auto_dispatch=True)
    message = session_services.session_send("s1", "a person's message first")
    task = TaskFactory()
    runner.tick()
    assert status(task.id) == "ready", "s1 has a message of its own to take first"
    delivery_starts(message.id)
    delivery_ends(message.id)
    runner.tick()
    assert status(task.id) == "assigned"


def test_a_reference_sound_again_sets_it_off(docs, runner):
    docs.write("spec.md", "one\ntwo\n")
    SessionFactory(name="s1", auto_dispatch=True)
    task = TaskFactory(references=["spec.md:1-1"])
    docs.write("spec.md", "uno\ntwo\n")
    runner.tick()
    task = Task.objects.get(pk=task.id)
    assert (task.status, task.stale_references) == ("ready", 1)
    services.reference_refresh(task.id, f"{task.id}.1", expected_version=task.version)
    runner.tick()
    assert status(task.id) == "assigned"


def test_a_task_that_cannot_go_is_reported_once(docs, settings, runner, caplog):
    settings.CHORUS_MAX_MESSAGE_CHARS = 10
    SessionFactory(name="s1", auto_dispatch=True)
    TaskFactory(title="far too long a prompt")
    with caplog.at_level(logging.WARNING, logger="chorus.worker.tasks"):
        for status_now in ("busy", "idle", "busy", "idle"):
            session_status("s1", status_now)
            runner.tick()
    assert [r.getMessage() for r in caplog.records if r.name == "chorus.worker.tasks"] == [
        "task 1 was not dispatched: cannot send task 1 to s1: the message has 29 characters; the limit is 10"
    ]
