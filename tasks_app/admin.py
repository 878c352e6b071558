"""Tasks in the admin, the user's tool for bulk edits. Every change goes through the services and becomes events:
the change form, every bulk action, and deleting (which archives: tasks are never deleted) call a service with the
version the user saw. A refusal or a version conflict is shown as an error message; nothing is written then."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.http import HttpResponseRedirect
from django.utils.html import format_html, format_html_join

from events_app.admin import ReadOnlyAdmin
from events_app.errors import DomainError
from events_app.store import event_context
from tasks_app import selectors, services
from tasks_app.models import Dispatch, Reference, SessionSlot, Task, TaskLabel


class TaskActionForm(helpers.ActionForm):
    """The action bar's inputs, read by the actions that need one."""

    # Text, not a number field: an invalid number then gets its own message rather than "No action selected".
    priority = forms.CharField(required=False, max_length=12, help_text="for “set priority”")
    label = forms.CharField(required=False, max_length=40, help_text="for “add/remove label”")
    session = forms.CharField(required=False, max_length=40, help_text="for “assign”")
    note = forms.CharField(required=False, max_length=500, help_text="result note or reason")


class TaskForm(forms.ModelForm):
    labels_text = forms.CharField(required=False, label="Labels", help_text="comma-separated")
    # The version the user saw: the service refuses the change if the task moved on since.
    version = forms.IntegerField(required=False, widget=forms.HiddenInput)

    class Meta:
        model = Task
        fields = ["title", "description", "priority"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk is not None:
            self.fields["labels_text"].initial = ", ".join(self.instance.labels)
            self.fields["version"].initial = self.instance.version

    def labels(self) -> list[str]:
        return [label.strip() for label in self.cleaned_data["labels_text"].split(",") if label.strip()]


class LabelFilter(admin.SimpleListFilter):
    title = "label"
    parameter_name = "label"

    def lookups(self, request, model_admin):
        labels = TaskLabel.objects.order_by("label").values_list("label", flat=True).distinct()
        return [(label, label) for label in labels]

    def queryset(self, request, queryset):
        if self.value():
            return queryset.filter(pk__in=TaskLabel.objects.filter(label=self.value()).values("task_id"))
        return queryset


class StaleFilter(admin.SimpleListFilter):
    title = "stale references"
    parameter_name = "stale"

    def lookups(self, request, model_admin):
        return [("yes", "stale or missing"), ("no", "all current")]

    def queryset(self, request, queryset):
        if self.value() == "yes":
            return queryset.filter(stale_references__gt=0)
        if self.value() == "no":
            return queryset.filter(stale_references=0)
        return queryset


def _status_action(status: str):
    def action(modeladmin: TaskAdmin, request, queryset):
        note = request.POST.get("note", "")
        modeladmin.each(
            request,
            queryset,
            f"set to {status}",
            lambda t, v: services.task_set_status(t.id, status, expected_version=v, note=note),
        )

    action.__name__ = f"set_{status}"
    return admin.action(description=f"Set status: {status}")(action)


@admin.register(Task)
class TaskAdmin(admin.ModelAdmin):
    form = TaskForm
    action_form = TaskActionForm
    delete_confirmation_template = "admin/tasks_app/task/archive_confirmation.html"
    list_display = (
        "id",
        "title",
        "status",
        "priority",
        "label_list",
        "session",
        "stale_references",
        "archived",
        "seen_version",
    )
    list_display_links = ("id", "title")
    list_filter = ("status", "priority", LabelFilter, "session", "archived", StaleFilter)
    search_fields = ("title", "description")
    readonly_fields = (
        "status",
        "session",
        "archived",
        "depends_on",
        "result_note",
        "stale_references",
        "reference_list",
        "dispatch_list",
    )
    actions = [
        *(_status_action(s) for s in ("ready", "backlog", "done", "failed", "cancelled")),
        "set_priority",
        "add_label",
        "remove_label",
        "assign",
        "unassign",
        "archive",
        "unarchive",
    ]

    def get_fieldsets(self, request, obj=None):
        editable = ("title", "description", "priority", "labels_text", "version")
        if obj is None:
            return [(None, {"fields": editable})]
        return [(None, {"fields": editable}), ("State", {"fields": self.readonly_fields})]

    def get_readonly_fields(self, request, obj=None):
        return self.readonly_fields if obj is not None else ()

    def get_actions(self, request):
        actions = super().get_actions(request)
        # Tasks are never deleted (their history is the event log): "archive" is the bulk way to put them away.
        actions.pop("delete_selected", None)
        return actions

    # list columns

    @admin.display(description="labels")
    def label_list(self, task: Task) -> str:
        return ", ".join(task.labels)

    @admin.display(description="version")
    def seen_version(self, task: Task) -> str:
        # Posted with the selection, so a bulk action acts on the version the user saw on this page.
        return format_html('{}<input type="hidden" name="_version_{}" value="{}">', task.version, task.pk, task.version)

    @admin.display(description="references")
    def reference_list(self, task: Task) -> str:
        references = selectors.references(task.id)
        return (
            format_html_join(
                "",
                "<p><b>{}</b> {} <code>{}</code></p><pre>{}</pre>",
                ((r.id, r.state, str(r), r.diff or r.snapshot) for r in references),
            )
            or "—"
        )

    @admin.display(description="dispatches")
    def dispatch_list(self, task: Task) -> str:
        dispatches = selectors.dispatches(task.id, limit=None)
        return (
            format_html_join(
                "",
                '<p><a href="../../../dispatch/{}/change/">{}</a> to {} via {}: {}</p>',
                ((d.id, d.dispatched_at, d.session, d.via, d.outcome or "at work") for d in dispatches),
            )
            or "—"
        )

    # one write path for everything

    def _as(self, request):
        return event_context(actor=request.user.get_username() or "admin", source="admin")

    def _seen_version(self, request, task: Task) -> int:
        try:
            return int(request.POST[f"_version_{task.pk}"])
        except (KeyError, ValueError):
            return task.version

    def each(self, request, queryset, done: str, change) -> None:
        """Apply `change(task, version seen)` to every selected task, each in its own transaction; report each
        refusal and conflict, and how many succeeded."""
        succeeded = 0
        with self._as(request):
            for task in queryset.order_by("id"):
                try:
                    change(task, self._seen_version(request, task))
                except DomainError as exc:
                    self.message_user(request, f"Task {task.id}: {exc}", messages.ERROR)
                else:
                    succeeded += 1
        if succeeded:
            self.message_user(request, f"{done[:1].upper()}{done[1:]}: {succeeded} task(s).", messages.SUCCESS)

    def _needs(self, request, field: str) -> str | None:
        value = request.POST.get(field, "").strip()
        if not value:
            self.message_user(request, f"Give a {field} in the action bar for this action.", messages.ERROR)
        return value or None

    @admin.action(description="Set priority (action bar: priority)")
    def set_priority(self, request, queryset):
        value = self._needs(request, "priority")
        if value is None:
            return
        try:
            priority = int(value)
        except ValueError:
            self.message_user(request, f"priority {value!r} is not a whole number", messages.ERROR)
            return
        self.each(
            request,
            queryset,
            f"priority {priority}",
            lambda t, v: services.task_update(t.id, expected_version=v, priority=priority),
        )

    @admin.action(description="Add label (action bar: label)")
    def add_label(self, request, queryset):
        label = self._needs(request, "label")
        if label:
            self.each(
                request,
                queryset,
                f"labelled {label}",
                lambda t, v: services.task_update(t.id, expected_version=v, add_labels=[label]),
            )

    @admin.action(description="Remove label (action bar: label)")
    def remove_label(self, request, queryset):
        label = self._needs(request, "label")
        if label:
            self.each(
                request,
                queryset,
                f"unlabelled {label}",
                lambda t, v: services.task_update(t.id, expected_version=v, remove_labels=[label]),
            )

    @admin.action(description="Assign to session (action bar: session)")
    def assign(self, request, queryset):
        session = self._needs(request, "session")
        if session:
            self.each(
                request,
                queryset,
                f"assigned to {session}",
                lambda t, v: services.task_assign(t.id, session, expected_version=v),
            )

    @admin.action(description="Unassign (back to ready)")
    def unassign(self, request, queryset):
        note = request.POST.get("note", "")
        self.each(
            request, queryset, "unassigned", lambda t, v: services.task_unassign(t.id, expected_version=v, reason=note)
        )

    @admin.action(description="Archive")
    def archive(self, request, queryset):
        self.each(request, queryset, "archived", lambda t, v: services.task_archive(t.id, expected_version=v))

    @admin.action(description="Unarchive")
    def unarchive(self, request, queryset):
        self.each(request, queryset, "unarchived", lambda t, v: services.task_unarchive(t.id, expected_version=v))

    # the change form, and deleting (= archiving)

    def save_model(self, request, obj, form, change):
        data = form.cleaned_data
        try:
            with self._as(request):
                if change:
                    task = services.task_update(
                        obj.pk,
                        expected_version=data["version"],
                        title=data["title"],
                        description=data["description"],
                        priority=data["priority"],
                        labels=form.labels(),
                    )
                else:
                    task = services.task_create(data["title"], data["description"], data["priority"], form.labels())
        except DomainError as exc:
            request._chorus_refused = True
            self.message_user(request, f"Not saved: {exc}", messages.ERROR)
            return
        obj.pk, obj.version = task.pk, task.version

    def save_related(self, request, form, formsets, change):
        """Tasks have no related rows the admin could save."""

    def log_addition(self, request, obj, message):
        if not getattr(request, "_chorus_refused", False):
            super().log_addition(request, obj, message)

    def log_change(self, request, obj, message):
        if not getattr(request, "_chorus_refused", False):
            super().log_change(request, obj, message)

    def log_deletions(self, request, queryset):
        """Nothing is deleted; the archive is an event in the log."""

    def response_add(self, request, obj, post_url_continue=None):
        if getattr(request, "_chorus_refused", False):
            return HttpResponseRedirect(request.path)
        return super().response_add(request, obj, post_url_continue)

    def response_change(self, request, obj):
        if getattr(request, "_chorus_refused", False):
            return HttpResponseRedirect(request.path)
        return super().response_change(request, obj)

    def delete_model(self, request, obj):
        self.each(
            request,
            Task.objects.filter(pk=obj.pk),
            "archived",
            lambda t, v: services.task_archive(t.id, expected_version=v),
        )

    def delete_queryset(self, request, queryset):
        self.archive(request, queryset)

    def response_delete(self, request, obj_display, obj_id):
        return HttpResponseRedirect("../../")


@admin.register(Reference)
class ReferenceAdmin(ReadOnlyAdmin):
    list_display = ("id", "task_id", "path", "start", "end", "state", "changed_at")
    list_filter = ("state",)
    search_fields = ("path", "snapshot")


@admin.register(Dispatch)
class DispatchAdmin(ReadOnlyAdmin):
    list_display = ("dispatched_at", "task_id", "session", "via", "actor", "outcome", "git_head_at_dispatch")
    list_filter = ("outcome", "via", "session")
    search_fields = ("prompt", "session")


@admin.register(SessionSlot)
class SessionSlotAdmin(ReadOnlyAdmin):
    list_display = ("session", "task_id", "since")
