"""Documents in the admin: visible, never edited (documents change on disk and become events)."""

from django.contrib import admin

from documents_app.models import Document
from events_app.admin import ReadOnlyAdmin


@admin.register(Document)
class DocumentAdmin(ReadOnlyAdmin):
    list_display = ("path", "title", "line_count", "size", "changed_at")
    search_fields = ("path", "title")
    ordering = ("path",)
