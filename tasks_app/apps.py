from django.apps import AppConfig


class TasksAppConfig(AppConfig):
    name = "tasks_app"
    verbose_name = "Tasks"

    def ready(self) -> None:
        from tasks_app import projectors  # noqa: F401  (registers the projectors; events_app.policies finds the policies)
