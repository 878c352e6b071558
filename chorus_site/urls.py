from django.contrib import admin
from django.contrib.staticfiles.views import serve as serve_static
from django.urls import path, re_path

from chorus_site import auth
from chorus_site.api import api
from chorus_site.views import approvals, doctor, documents, events, sessions, tasks, worktrees

admin.autodiscover()  # settings: SimpleAdminConfig, so that commands start without the admin's modules
admin.site.site_header = "Chorus admin"
admin.site.site_title = "Chorus"

urlpatterns = [
    path("login/", auth.login_view, name="login"),
    path("admin/", admin.site.urls),
    path("api/", api.urls),
    # pages
    path("", sessions.overview, name="overview"),
    path("sessions/new", sessions.session_create, name="session-create"),
    path("sessions/recover", sessions.sessions_recover, name="sessions-recover"),
    path("sessions/requests/<str:request_id>/cancel", sessions.request_cancel, name="request-cancel"),
    path("sessions/<str:name>/", sessions.session_detail, name="session"),
    path("sessions/<str:name>/kill", sessions.session_kill, name="session-kill"),
    path("sessions/<str:name>/restart", sessions.session_restart, name="session-restart"),
    path("sessions/<str:name>/remove", sessions.session_remove, name="session-remove"),
    path("sessions/<str:name>/send", sessions.session_send, name="session-send"),
    path("sessions/<str:name>/keys", sessions.session_keys, name="session-keys"),
    path("sessions/<str:name>/clear-input", sessions.session_clear_input, name="session-clear-input"),
    path("sessions/<str:name>/answer", sessions.session_answer, name="session-answer"),
    path("sessions/<str:name>/auto-dispatch", sessions.session_auto_dispatch, name="session-auto-dispatch"),
    path("sessions/<str:name>/outbox/<str:message_id>/cancel", sessions.message_cancel, name="message-cancel"),
    path("tasks/", tasks.board, name="board"),
    path("tasks/new", tasks.task_create, name="task-create"),
    path("tasks/references", tasks.reference_add, name="reference-add"),
    path("tasks/<int:task_id>/", tasks.task_detail, name="task"),
    path("tasks/<int:task_id>/status", tasks.task_status, name="task-status"),
    path("tasks/<int:task_id>/assign", tasks.task_assign, name="task-assign"),
    path("tasks/<int:task_id>/edit", tasks.task_edit, name="task-edit"),
    path("tasks/<int:task_id>/isolation", worktrees.task_isolation, name="task-isolation"),
    path("tasks/<int:task_id>/worktree", worktrees.worktree_create, name="task-worktree-create"),
    path("tasks/<int:task_id>/worktree/start", worktrees.worktree_start, name="task-worktree-start"),
    path("tasks/<int:task_id>/worktree/remove", worktrees.worktree_remove, name="task-worktree-remove"),
    path("tasks/<int:task_id>/merge", worktrees.worktree_merge, name="task-merge"),
    path("tasks/<int:task_id>/references/add", tasks.task_reference_add, name="task-reference-add"),
    path("tasks/<int:task_id>/comments", tasks.task_review_comment, name="task-review-comment"),
    path("tasks/<int:task_id>/request-changes", tasks.task_request_changes, name="task-request-changes"),
    path("tasks/<int:task_id>/approve", tasks.task_approve, name="task-approve"),
    path("tasks/<int:task_id>/dependencies", tasks.task_dependency_add, name="task-dependency-add"),
    path("tasks/<int:task_id>/dependencies/remove", tasks.task_dependency_remove, name="task-dependency-remove"),
    path(
        "tasks/<int:task_id>/references/<str:reference_id>/refresh", tasks.reference_refresh, name="reference-refresh"
    ),
    path("tasks/<int:task_id>/references/<str:reference_id>/remove", tasks.reference_remove, name="reference-remove"),
    path("documents/", documents.document_list, name="documents"),
    path("documents/<path:path>", documents.document_detail, name="document"),
    path("events/", events.event_log, name="events"),
    path("events/verify", events.events_verify, name="events-verify"),
    path("doctor/", doctor.setup_check, name="setup-check"),
    path("settings/approvals", approvals.approvals_settings, name="settings-approvals"),
    path("settings/approvals/pause", approvals.approvals_pause, name="approvals-pause"),
    path("settings/approvals/resume", approvals.approvals_resume, name="approvals-resume"),
    # A localhost tool has no front proxy: static files (ours, htmx, the admin's) come from Django itself.
    re_path(r"^static/(?P<path>.*)$", serve_static, {"insecure": True}),
]

handler500 = "chorus_site.views.base.server_error"
handler400 = "chorus_site.views.errors.bad_request"
handler404 = "chorus_site.views.errors.not_found"
