from django.core.management.base import CommandError

from events_app.audit import verify_events
from events_app.commands import DomainCommand


class Command(DomainCommand):
    help = (
        "Check the event table's hash chain and version continuity, and the log against its signed anchor; name the "
        "first bad event."
    )

    def handle(self, *args, **options):
        result = verify_events()
        if not result.ok:
            raise CommandError(f"{result.problem} ({result.checked} events before it are intact)")
        anchored = f"; the signed anchor at #{result.anchored} holds" if result.anchored else ""
        self.stdout.write(f"ok: {result.checked} events, hash chain and versions intact{anchored}")
