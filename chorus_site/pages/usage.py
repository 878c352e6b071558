"""What the agents spent, for the pages: a task's cost, a session's usage, today's spend and a budget's pause
(templates/usage.html). Usage events (stream `usage`) and dispatch pauses (stream `dispatch`) re-render them."""

from __future__ import annotations

from django.conf import settings

from chorus_site.pages.base import Fragment
from tasks_app import selectors as task_selectors

USAGE, DISPATCH = "usage", "dispatch"


def task_cost(task_id: int) -> Fragment:
    usage = task_selectors.usage_of("task", task_id)
    context = {"usage": usage, "budget": settings.CHORUS_TASK_BUDGET}
    return Fragment("usage.html#task-cost", context, key=usage and (usage.turns, usage.cost_micros))


def session_usage(name: str) -> Fragment:
    usage = task_selectors.usage_of("session", name)
    return Fragment("usage.html#session-usage", {"usage": usage}, key=usage and (usage.turns, usage.cost_micros))


def today_spend() -> Fragment:
    today = task_selectors.usage_of("day", task_selectors.today())
    pause = task_selectors.dispatch_pause()
    context = {"today": today.cost if today else 0.0, "budget": settings.CHORUS_DAILY_BUDGET, "paused": pause}
    return Fragment("usage.html#today-spend", context, key=(today and today.cost_micros, pause and pause.reason))
