"""The event log in the admin: searchable and filterable, never editable (events are corrected by new events)."""

from django.contrib import admin

from events_app.models import ProjectorCheckpoint, StoredEvent, Stream


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(StoredEvent)
class StoredEventAdmin(ReadOnlyAdmin):
    list_display = (
        "position",
        "recorded_at",
        "stream_type",
        "stream_id",
        "version",
        "event_type",
        "actor",
        "source",
    )
    list_filter = ("stream_type", "event_type")
    search_fields = ("stream_id", "event_type")
    # No date_hierarchy: recorded_at has no index (a time is a range of positions, found by bisection), so the
    # admin's date drill-down would read the whole log; /events/ filters by time in milliseconds.
    ordering = ("-position",)

    @admin.display(description="actor")
    def actor(self, obj: StoredEvent) -> str:
        return (obj.metadata or {}).get("actor", "")

    @admin.display(description="source")
    def source(self, obj: StoredEvent) -> str:
        return (obj.metadata or {}).get("source", "")


@admin.register(Stream)
class StreamAdmin(ReadOnlyAdmin):
    list_display = ("stream_type", "stream_id", "version", "last_event_type", "updated_at")
    list_filter = ("stream_type",)
    search_fields = ("stream_id",)


@admin.register(ProjectorCheckpoint)
class ProjectorCheckpointAdmin(ReadOnlyAdmin):
    list_display = ("name", "position")
