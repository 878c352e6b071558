"""What a person does from a task page's "where it works" panel: choose the task's isolation, make its worktree,
start a session there, merge its branch into the shared checkout, remove the worktree. Each names the version of
the task the page showed, and calls one service (tasks_app.services.worktrees)."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from django.views.decorators.http import require_POST

from chorus_site.views.base import act
from chorus_site.views.tasks import _as_seen, _version
from tasks_app import services as task_services

CHECKED = ("1", "on", "true")
WHERE = {"shared": "the shared checkout", "worktree": "a worktree of its own"}


def _done(request: HttpRequest, task_id: int, action, said) -> HttpResponse:
    return act(request, _as_seen(task_id, action), said, back=reverse("task", args=[task_id]))


@require_POST
def task_isolation(request: HttpRequest, task_id: int) -> HttpResponse:
    isolation = request.POST.get("isolation", "")
    return _done(
        request,
        task_id,
        lambda: task_services.task_set_isolation(task_id, isolation, expected_version=_version(request)),
        lambda t: f"Task #{t.id} works in {WHERE[t.isolation]}.",
    )


@require_POST
def worktree_create(request: HttpRequest, task_id: int) -> HttpResponse:
    base = request.POST.get("base", "").strip() or "HEAD"
    return _done(
        request,
        task_id,
        lambda: task_services.worktree_create(task_id, expected_version=_version(request), base=base),
        lambda t: f"Task #{t.id} has its worktree at {t.worktree_path}, on branch {t.worktree_branch}.",
    )


@require_POST
def worktree_start(request: HttpRequest, task_id: int) -> HttpResponse:
    profile, session = request.POST.get("profile", ""), request.POST.get("session", "").strip() or None
    base = request.POST.get("base", "").strip() or "HEAD"
    return _done(
        request,
        task_id,
        lambda: task_services.worktree_start(
            task_id, profile, expected_version=_version(request), session=session, base=base
        ),
        lambda t: f"Task #{t.id} assigned to {t.session}, which works in {t.worktree_path}.",
    )


@require_POST
def worktree_merge(request: HttpRequest, task_id: int) -> HttpResponse:
    no_ff = request.POST.get("no_ff") in CHECKED

    def said(result) -> str:
        task, merged = result
        if not merged.changed:
            return f"Nothing to merge: {merged.into} has all of {task.worktree_branch}."
        how = "fast-forward" if merged.fast_forward else "merge commit"
        return f"Merged {task.worktree_branch} into {merged.into} ({how}, {merged.commit[:10]})."

    return _done(
        request,
        task_id,
        lambda: task_services.worktree_merge(task_id, expected_version=_version(request), no_ff=no_ff),
        said,
    )


@require_POST
def worktree_remove(request: HttpRequest, task_id: int) -> HttpResponse:
    force = request.POST.get("force") in CHECKED
    return _done(
        request,
        task_id,
        lambda: task_services.worktree_remove(task_id, expected_version=_version(request), force=force),
        lambda t: f"Task #{t.id}'s worktree and branch {t.worktree_branch} are removed.",
    )
