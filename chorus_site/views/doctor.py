"""The setup check's page and the overview's panel: the lines of chorus_site/doctor.py (the same as `chorus
doctor`), asked again at most every 30 s."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from chorus_site import doctor


@require_GET
def setup_check(request: HttpRequest) -> HttpResponse:
    """The whole check as a page; the overview loads its panel (problems only) from here with htmx."""
    findings = doctor.cached_diagnosis()
    context = {
        "findings": findings,
        "problems": [finding for finding in findings if finding.level != doctor.OK],
        "failed": doctor.failed(findings),
    }
    if getattr(request, "htmx", False):
        return render(request, "doctor.html#setup-panel", context)
    return render(request, "doctor.html", context)
