from django.core.management.base import CommandError

from events_app import projection
from events_app.commands import DomainCommand
from events_app.store import ReplayError


class Command(DomainCommand):
    help = "Rebuild the read models in a transaction that is rolled back and diff them against the live tables."

    def add_arguments(self, parser):
        parser.add_argument("names", nargs="*", help="projections to verify (default: all)")

    def handle(self, *args, **options):
        names = options["names"] or None
        try:
            chosen = ", ".join(p.name for p in projection.projectors(names))
        except KeyError as exc:
            raise CommandError(exc.args[0]) from None
        try:
            differences = projection.verify(names)
        except ReplayError as exc:
            raise CommandError(f"replay stopped, nothing changed: {exc}") from None
        if differences:
            for line in differences:
                self.stderr.write(line)
            raise CommandError(f"{len(differences)} difference(s) between the live read models and a replay")
        self.stdout.write(f"ok: {chosen} equal a replay of the event log")
