from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from events_app import projection
from events_app.store import ReplayError


class _DryRun(Exception):
    pass


class Command(BaseCommand):
    help = "Empty read models and replay every event in order (all projections, or the ones named)."

    def add_arguments(self, parser):
        parser.add_argument("names", nargs="*", help="projections to rebuild (default: all)")
        parser.add_argument("--dry-run", action="store_true", help="replay, report, and roll everything back")
        parser.add_argument("--list", action="store_true", help="list the projections and their checkpoints")

    def handle(self, *args, **options):
        if options["list"]:
            checkpoints = {c.name: c.position for c in projection.ProjectorCheckpoint.objects.all()}
            for p in projection.projectors():
                tables = ", ".join(m._meta.db_table for m in p.models)
                self.stdout.write(f"{p.name}\t@{checkpoints.get(p.name, 0)}\t{tables}")
            return
        names = options["names"] or None
        try:
            projection.projectors(names)
        except KeyError as exc:
            raise CommandError(exc.args[0]) from None
        try:
            with transaction.atomic():
                changes = projection.verify(names) if options["dry_run"] else None
                result = projection.rebuild(names)
                if options["dry_run"]:
                    raise _DryRun
        except _DryRun:
            self.stdout.write(
                f"dry run: {result['events']} events would rebuild {', '.join(result['projections'])}; "
                f"{len(changes)} row difference(s) from the live tables; nothing was changed"
            )
            for line in changes:
                self.stdout.write(f"  {line}")
            return
        except ReplayError as exc:
            raise CommandError(f"replay stopped, nothing changed: {exc}") from None
        self.stdout.write(
            f"rebuilt {', '.join(result['projections'])} from {result['events']} events (to #{result['position']})"
        )
