from django.core.management.base import BaseCommand, CommandError

from events_app.audit import verify_events


class Command(BaseCommand):
    help = "Check the event table's hash chain and version continuity; name the first bad event."

    def handle(self, *args, **options):
        result = verify_events()
        if not result.ok:
            raise CommandError(f"{result.problem} ({result.checked} events before it are intact)")
        self.stdout.write(f"ok: {result.checked} events, hash chain and versions intact")
