from django.apps import AppConfig


class DocumentsAppConfig(AppConfig):
    name = "documents_app"
    verbose_name = "Documents"

    def ready(self) -> None:
        from documents_app import projectors  # noqa: F401  (registers the documents projector)
