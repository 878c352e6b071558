"""Read-only (CHORUS_READ_ONLY) in the tasks app: no dispatch types a prompt, and the command line refuses a
change in one line."""

import pytest
from django.core.management import CommandError, call_command

from events_app.policies import PolicyRunner
from sessions_app.models import OutboxMessage
from tasks_app import services
from tasks_app.models import Task
from tests.tasks_app.factories import SessionFactory

pytestmark = pytest.mark.django_db


def test_no_ready_task_is_dispatched_to_a_free_session(docs, settings):
    SessionFactory(name="free", auto_dispatch=True)
    task = services.task_create("Do it")
    settings.CHORUS_READ_ONLY = True

    PolicyRunner().tick()

    assert Task.objects.get(pk=task.id).status == "ready"
    assert not OutboxMessage.objects.exists()


@pytest.mark.parametrize(
    ("command", "ready"),
    [(("tasks", "add", "Refused"), 0), (("sessions", "send", "s1", "hello"), 0), (("tasks", "dispatch"), 1)],
    ids=["tasks-add", "sessions-send", "tasks-dispatch"],
)
def test_a_command_that_would_change_something_refuses_in_one_line(docs, settings, command, ready):
    SessionFactory(name="s1", auto_dispatch=True)
    for n in range(ready):
        services.task_create(f"Ready {n}")
    settings.CHORUS_READ_ONLY = True

    with pytest.raises(CommandError, match=r"^Chorus runs read-only \(CHORUS_READ_ONLY\): nothing can be changed$"):
        call_command(*command)

    assert Task.objects.filter(status="ready").count() == ready
    assert not OutboxMessage.objects.exists()
