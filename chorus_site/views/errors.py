"""Django's handler400: a request Django refused before any view ran (its body over DATA_UPLOAD_MAX_MEMORY_SIZE, too
many form fields) answers with what was wrong, as JSON for the API and the agents' MCP server, in words for a page.
Django's own 400 is an HTML page with an empty message. handler404: a path under the API that names no endpoint
answers in JSON too (a page's 404 stays Django's)."""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import RequestDataTooBig, TooManyFieldsSent
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views import defaults

JSON_PATHS = ("/api/", "/mcp/")


def bad_request(request: HttpRequest, exception: Exception) -> HttpResponse:
    if isinstance(exception, RequestDataTooBig):
        status = 413
        detail = f"the request body is too large: at most {settings.DATA_UPLOAD_MAX_MEMORY_SIZE} bytes are accepted"
    elif isinstance(exception, TooManyFieldsSent):
        status = 400
        detail = f"too many form fields: at most {settings.DATA_UPLOAD_MAX_NUMBER_FIELDS} are accepted"
    else:
        status = 400
        detail = str(exception).rstrip(".") or "the request cannot be read"
    if request.path.startswith(JSON_PATHS):
        return JsonResponse({"detail": detail}, status=status)
    return HttpResponse(
        f"{detail[:1].upper()}{detail[1:]}: nothing was changed.\n", status=status, content_type="text/plain"
    )


def not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    if request.path.startswith(JSON_PATHS):
        return JsonResponse({"detail": f"no such endpoint: {request.method} {request.path}"}, status=404)
    return defaults.page_not_found(request, exception)
