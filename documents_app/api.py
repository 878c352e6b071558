"""Documents API: endpoints parse, call one service or selector, and serialise with the schemas."""

from __future__ import annotations

from django.http import HttpRequest
from django.urls import register_converter
from django.urls.converters import PathConverter
from ninja import P, Query, Router

from documents_app import selectors, services
from documents_app.schemas import DocumentOut, DocumentTextOut, EditorOut, OpenIn, ScanOut
from events_app.schemas import LARGEST_INTEGER, answers
from events_app.store import event_context


class AnyPath(PathConverter):
    """A document path as a file name may spell it: Django's `path` stops at a line break, and the URL would then
    match no route at all (an HTML 404 instead of the API's JSON one)."""

    regex = r"[\s\S]+"


register_converter(AnyPath, "anypath")
router = Router(tags=["documents"])
LineQuery = Query[int | None, P(ge=1, le=LARGEST_INTEGER, description="a line number, 1-based")]


def _as(request: HttpRequest):
    return event_context(actor="api-token" if getattr(request, "chorus_bearer", False) else "browser", source="api")


@router.get("", response=answers({200: list[DocumentOut]}), summary="Every document under PROJECT_ROOT, by path")
def list_documents(request: HttpRequest):
    return list(selectors.documents())


@router.post(
    "/scan", response=answers({200: ScanOut}, write=True), summary="Look at the whole tree and record what changed"
)
def scan_documents(request: HttpRequest):
    with _as(request):
        return ScanOut.model_validate(services.documents_scan())


# Before the document route: its {anypath:path} would take ".../open" as part of the path.
@router.post(
    "/{anypath:path}/open",
    response=answers({200: EditorOut}, 400, 404, 409, 422, write=True),
    summary="Open the document in $EDITOR at a line, in tmux",
)
def open_document(request: HttpRequest, path: str, body: OpenIn):
    with _as(request):
        return EditorOut.model_validate(services.document_open_in_editor(path, body.line))


@router.get(
    "/{anypath:path}",
    response=answers({200: DocumentTextOut}, 400, 404, 409, 422),
    summary="A document with its numbered lines as the file holds them now (start..end, 1-based, inclusive)",
)
def get_document(request: HttpRequest, path: str, start: LineQuery = None, end: LineQuery = None):
    return DocumentTextOut.of(selectors.document_excerpt(path, start, end))
