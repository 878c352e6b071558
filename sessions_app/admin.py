"""Sessions in the admin: visible, never edited (changes go through the services and become events)."""

from django.contrib import admin

from events_app.admin import ReadOnlyAdmin
from sessions_app.models import OutboxMessage, Session, StatusChange


@admin.register(Session)
class SessionAdmin(ReadOnlyAdmin):
    list_display = ("name", "profile", "lifecycle", "status", "status_reason", "status_since", "auto_dispatch")
    list_filter = ("lifecycle", "status", "profile", "auto_dispatch")
    search_fields = ("name", "status_reason")


@admin.register(StatusChange)
class StatusChangeAdmin(ReadOnlyAdmin):
    list_display = ("at", "session", "from_status", "to_status", "reason")
    list_filter = ("to_status",)
    search_fields = ("session", "reason")


@admin.register(OutboxMessage)
class OutboxMessageAdmin(ReadOnlyAdmin):
    list_display = ("queued_at", "session", "state", "attempts", "confirmed_by", "failure_reason")
    list_filter = ("state",)
    search_fields = ("session", "text")
