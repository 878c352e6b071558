from django.apps import AppConfig


class SessionsAppConfig(AppConfig):
    name = "sessions_app"
    verbose_name = "Agent sessions"

    def ready(self) -> None:
        from sessions_app import projectors  # noqa: F401  (registers the projectors; events_app.policies finds the policies)
