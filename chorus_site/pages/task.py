"""One task: its references with their state and diff, dependencies, dispatches with their prompts, the moves a
person may make, and assignment while the state machine allows it. Events of the task, of the tasks it waits for
and of those waiting for it re-render it."""

from __future__ import annotations

from collections.abc import Mapping

from chorus_site.pages.base import MESSAGE, SESSION, TASK, Fragment, LivePage, found
from sessions_app import selectors as session_selectors
from tasks_app import lifecycle
from tasks_app import selectors as task_selectors


def detail(task) -> dict:
    related = task_selectors.tasks(archived=None).filter(pk__in=[*task.depends_on])
    dependents = task_selectors.dependents(task.id)
    waiting = set(task_selectors.blocked_by([task]).get(task.id, []))
    prompt, why_not = task_selectors.prompt_preview(task)
    return {
        "task": task,
        "references": task_selectors.references(task.id),
        "depends": [(t, t.id in waiting) for t in related.order_by("id")],
        "dependents": list(task_selectors.tasks(archived=None).filter(pk__in=dependents).order_by("id")),
        "dispatches": list(task_selectors.dispatches(task.id, 20)),
        "moves": lifecycle.person_targets(task.status),
        "prompt_preview": prompt,
        "prompt_problem": why_not,
        "status_labels": lifecycle.LABELS,
    }


def assignment(task) -> dict:
    return {
        "task": task,
        "assignable": lifecycle.assignable(task.status),
        "assignable_from": [status for status in lifecycle.STATUSES if lifecycle.assignable(status)],
        "sessions": list(session_selectors.sessions(include_ended=False)),
    }


class TaskPage(LivePage):
    name = "task"
    template = "task.html"
    section = "tasks"
    parameters = ("id",)
    topics = (TASK, MESSAGE)

    def __init__(self, params: Mapping[str, str]):
        super().__init__(params)
        self.task_id = self.params.get("id", "")
        self.related = {self.task_id}  # this task and those it waits for or that wait for it, as last read

    def read_task(self):
        return found(task_selectors.task, self.task_id)

    def read_detail(self) -> list[Fragment]:
        context = detail(self.read_task())
        task = context["task"]
        self.related = {str(task.id), *(str(n) for n in task.depends_on), *(str(t.id) for t in context["dependents"])}
        return [Fragment("task.html#task-detail", context)]

    def read_assignment(self) -> list[Fragment]:
        return [Fragment("task.html#assign", assignment(self.read_task()))]

    partials = {"task-detail": read_detail, "assign": read_assignment}
    renders = {
        "task:{related}": ("task-detail", "assign"),
        MESSAGE: ("task-detail",),
        SESSION: ("assign",),
    }

    def context(self) -> dict:
        task = self.read_task()
        return {**super().context(), **detail(task), **assignment(task)}
