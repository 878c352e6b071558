from django.apps import AppConfig


class DemoConfig(AppConfig):
    name = "tests.demo"
    label = "demo"

    def ready(self) -> None:
        from tests.demo import policies, projectors  # noqa: F401
