"""Documents API: endpoints parse, call one service or selector, and serialise with the schemas."""

from __future__ import annotations

from django.http import HttpRequest
from ninja import Router

from documents_app import selectors, services
from documents_app.schemas import DocumentOut, DocumentTextOut, EditorOut, OpenIn, ScanOut
from events_app.store import event_context

router = Router(tags=["documents"])


def _as(request: HttpRequest):
    return event_context(actor="api-token" if getattr(request, "chorus_bearer", False) else "browser", source="api")


@router.get("", response=list[DocumentOut], summary="Every document under PROJECT_ROOT, by path")
def list_documents(request: HttpRequest):
    return list(selectors.documents())


@router.post("/scan", response=ScanOut, summary="Look at the whole tree and record what changed")
def scan_documents(request: HttpRequest):
    with _as(request):
        return ScanOut.model_validate(services.documents_scan())


# Before the document route: its {path:path} would take ".../open" as part of the path.
@router.post("/{path:path}/open", response=EditorOut, summary="Open the document in $EDITOR at a line, in tmux")
def open_document(request: HttpRequest, path: str, body: OpenIn):
    with _as(request):
        return EditorOut.model_validate(services.document_open_in_editor(path, body.line))


@router.get(
    "/{path:path}",
    response=DocumentTextOut,
    summary="A document with its numbered lines as the file holds them now (start..end, 1-based, inclusive)",
)
def get_document(request: HttpRequest, path: str, start: int | None = None, end: int | None = None):
    return DocumentTextOut.of(selectors.document_excerpt(path, start, end))
