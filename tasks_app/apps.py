from django.apps import AppConfig


class TasksAppConfig(AppConfig):
    name = "tasks_app"
    verbose_name = "Tasks"

    def ready(self) -> None:
        from documents_app.services import register_change_listener
        from tasks_app import projectors  # noqa: F401  (registers the tasks and task_slots projectors)
        from tasks_app.services import references_follow_document

        register_change_listener(references_follow_document)
