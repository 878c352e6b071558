"""Domain errors of tasks; the message is for the user and `status` is the HTTP status the API answers with."""

from __future__ import annotations


class TaskError(Exception):
    """A request about tasks that cannot be carried out (bad input): nothing was written."""

    status = 400


class UnknownTask(TaskError):
    status = 404


class TaskConflict(TaskError):
    """The request is well formed but the tasks' current state refuses it (a cycle, a busy session, a limit)."""

    status = 409
