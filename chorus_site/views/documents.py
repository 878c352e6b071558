"""The document list and the document viewer (what a person does with selected lines is a task action)."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.views.decorators.http import require_GET

from chorus_site.pages.documents import DocumentPage, DocumentsPage
from chorus_site.views.base import page


@require_GET
def document_list(request: HttpRequest) -> HttpResponse:
    """The project's documents as a tree of folders."""
    return page(request, DocumentsPage({}))


@require_GET
def document_detail(request: HttpRequest, path: str) -> HttpResponse:
    """A document with line numbers: select lines, attach them to a task; references beside their lines."""
    return page(request, DocumentPage({"path": path}))
