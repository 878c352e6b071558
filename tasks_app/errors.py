"""Domain errors of tasks (see events_app.errors): the message is for the user, the kind gives the HTTP status."""

from __future__ import annotations

from events_app.errors import Conflict, DomainError, NotFound


class TaskError(DomainError):
    """A request about tasks that cannot be carried out (bad input): nothing was written."""


class UnknownTask(TaskError, NotFound):
    pass


class TaskConflict(TaskError, Conflict):
    """The request is well formed but the tasks' current state refuses it (a cycle, a busy session, a limit)."""


class ReferenceNotFound(TaskError, NotFound):
    """A reference to a document that is not recorded."""


class BulkRefused(TaskError):
    """One task of an all-or-none change refused it, so none was changed; answered with that refusal's status."""

    def __init__(self, task_id: int, refusal: DomainError):
        self.status = refusal.status
        self.refusal = refusal
        super().__init__(f"nothing was changed (a bulk change is all or none): task {task_id}: {refusal}")
