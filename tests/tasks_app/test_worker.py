"""The worker's task job: listed in the worker's jobs, follows then dispatches, says once why a task cannot go."""

import logging

import pytest
from django.conf import settings

from tasks_app import services
from tasks_app.models import Task
from tasks_app.worker import TaskDispatcher
from tests.tasks_app.helpers import delivery_ends, delivery_starts, session_appears, session_status

pytestmark = pytest.mark.django_db


def test_the_job_is_one_of_the_workers():
    assert "tasks_app.worker.TaskDispatcher" in settings.CHORUS_WORKER_JOBS
    assert TaskDispatcher().interval == settings.CHORUS_TASK_INTERVAL


def test_a_tick_follows_before_it_dispatches(docs):
    session_appears("s1", auto_dispatch=True)
    first, second = services.task_create("first", priority=2), services.task_create("second", priority=1)
    job = TaskDispatcher()
    job.tick()
    first = Task.objects.get(pk=first.id)
    assert (first.status, Task.objects.get(pk=second.id).status) == ("assigned", "ready")
    delivery_starts(first.message_id)
    session_status("s1", "busy")
    delivery_ends(first.message_id)
    session_status("s1", "idle")
    job.tick()
    assert Task.objects.get(pk=first.id).status == "review"
    assert Task.objects.get(pk=second.id).status == "assigned", "the session freed by review gets the next task"


def test_a_task_that_cannot_go_is_reported_once(docs, settings, caplog):
    settings.CHORUS_MAX_MESSAGE_CHARS = 10
    session_appears("s1", auto_dispatch=True)
    services.task_create("far too long a prompt")
    job = TaskDispatcher()
    with caplog.at_level(logging.WARNING, logger="chorus.worker.tasks"):
        for _ in range(3):
            job.tick()
    assert [r.getMessage() for r in caplog.records] == [
        "task 1 was not dispatched: cannot send task 1 to s1: the message has 29 characters; the limit is 10"
    ]
