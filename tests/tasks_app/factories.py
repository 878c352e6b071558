"""factory-boy factories for the task tests. Read models are written by projectors only, so each factory makes its
object the way Chorus does: a task through task_create, a session through the events the sessions app records."""

from __future__ import annotations

import factory

from sessions_app.models import Session
from tasks_app import services
from tasks_app.models import Task
from tests.tasks_app.helpers import session_appears


class TaskFactory(factory.Factory):
    class Meta:
        model = Task

    title = factory.Sequence(lambda n: f"task {n}")
    description = ""
    priority = 0
    labels: tuple = ()
    depends_on: tuple = ()
    references: tuple = ()
    claims: tuple = ()
    status = "ready"

    @classmethod
    def _create(cls, model_class, **fields) -> Task:
        return services.task_create(**fields)


class SessionFactory(factory.Factory):
    """A live session as the sessions worker records one (created, then seen in `status`), without tmux."""

    class Meta:
        model = Session

    name = factory.Sequence(lambda n: f"s{n}")
    status = "idle"
    auto_dispatch = False
    profile = "aider"

    @classmethod
    def _create(cls, model_class, **fields) -> Session:
        return session_appears(
            fields["name"],
            status=fields["status"],
            auto_dispatch=fields["auto_dispatch"],
            profile=fields["profile"],
            host=fields.get("host"),
        )


def assigned_task(session: str = "s1", **fields) -> Task:
    """A task assigned to `session` (created idle if it does not exist yet), its prompt queued."""
    if not Session.objects.filter(pk=session).exists():
        SessionFactory(name=session)
    task = TaskFactory(**fields)
    return services.task_assign(task.id, session, expected_version=task.version)
