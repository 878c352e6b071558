from django.contrib import admin
from django.contrib.staticfiles.views import serve as serve_static
from django.urls import path, re_path

from chorus_site import auth, views
from chorus_site.api import api

admin.site.site_header = "Chorus admin"
admin.site.site_title = "Chorus"

urlpatterns = [
    path("login/", auth.login_view, name="login"),
    path("admin/", admin.site.urls),
    path("api/", api.urls),
    # pages
    path("", views.overview, name="overview"),
    path("sessions/new", views.session_create, name="session-create"),
    path("sessions/<str:name>/", views.session_detail, name="session"),
    path("sessions/<str:name>/kill", views.session_kill, name="session-kill"),
    path("sessions/<str:name>/restart", views.session_restart, name="session-restart"),
    path("sessions/<str:name>/send", views.session_send, name="session-send"),
    path("sessions/<str:name>/keys", views.session_keys, name="session-keys"),
    path("sessions/<str:name>/auto-dispatch", views.session_auto_dispatch, name="session-auto-dispatch"),
    path("sessions/<str:name>/outbox/<str:message_id>/cancel", views.message_cancel, name="message-cancel"),
    path("tasks/", views.board, name="board"),
    path("tasks/new", views.task_create, name="task-create"),
    path("tasks/references", views.reference_add, name="reference-add"),
    path("tasks/<int:task_id>/", views.task_detail, name="task"),
    path("tasks/<int:task_id>/status", views.task_status, name="task-status"),
    path("tasks/<int:task_id>/assign", views.task_assign, name="task-assign"),
    path("tasks/<int:task_id>/dependencies", views.task_dependency_add, name="task-dependency-add"),
    path("tasks/<int:task_id>/dependencies/remove", views.task_dependency_remove, name="task-dependency-remove"),
    path(
        "tasks/<int:task_id>/references/<str:reference_id>/refresh", views.reference_refresh, name="reference-refresh"
    ),
    path("tasks/<int:task_id>/references/<str:reference_id>/remove", views.reference_remove, name="reference-remove"),
    path("documents/", views.document_list, name="documents"),
    path("documents/<path:path>", views.document_detail, name="document"),
    path("events/", views.event_log, name="events"),
    path("events/verify", views.events_verify, name="events-verify"),
    # A localhost tool has no front proxy: static files (ours, htmx, the admin's) come from Django itself.
    re_path(r"^static/(?P<path>.*)$", serve_static, {"insecure": True}),
]
