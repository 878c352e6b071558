"""The approval policies' settings page: the rules in force and their file, the file's text to edit (validated
first: a form error and nothing written when it is invalid), the fleet-wide pause switch, the latest decisions."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST

from chorus_site.views.base import act
from tasks_app import selectors
from tasks_app.errors import TaskError
from tasks_app.services import approvals as services

DECISIONS_SHOWN = 30


def _context(text: str | None = None, errors: list[str] | None = None) -> dict:
    source = selectors.approval_policy_source()
    policy = source.current()
    return {
        "section": "settings",
        "policy": policy,
        "policy_path": source.path,
        "problems": source.problems,
        "text": selectors.approval_policy_text() if text is None else text,
        "errors": errors or [],
        "paused": selectors.approvals_paused(),
        "decisions": selectors.approval_decisions(limit=DECISIONS_SHOWN),
    }


@require_http_methods(["GET", "POST"])
def approvals_settings(request: HttpRequest) -> HttpResponse:
    if request.method == "GET":
        return render(request, "settings_approvals.html", _context())
    text = request.POST.get("text", "").replace("\r\n", "\n")
    try:
        policy = services.approvals_policy_save(text)
    except TaskError as exc:  # a form error beside the text, which stays as typed; nothing was written
        return render(request, "settings_approvals.html", _context(text, str(exc).splitlines()), status=400)
    messages.success(request, f"Saved: {len(policy.rules)} rule(s) in force.")
    return HttpResponseRedirect(reverse("settings-approvals"))


@require_POST
def approvals_pause(request: HttpRequest) -> HttpResponse:
    return act(
        request,
        lambda: services.approvals_pause(request.POST.get("reason", "")),
        "Approvals paused: every request asks a person.",
        back=reverse("settings-approvals"),
    )


@require_POST
def approvals_resume(request: HttpRequest) -> HttpResponse:
    return act(
        request,
        lambda: services.approvals_resume(request.POST.get("reason", "")),
        "Approvals resumed: the rules decide again.",
        back=reverse("settings-approvals"),
    )
