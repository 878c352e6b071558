from django.core.management.base import CommandError

from events_app import projection, store
from events_app.commands import DomainCommand
from events_app.models import ProjectorCheckpoint


class Command(DomainCommand):
    help = "Empty read models and replay every event in order (all projections, or the ones named)."

    def add_arguments(self, parser):
        parser.add_argument("names", nargs="*", help="projections to rebuild (default: all)")
        parser.add_argument("--dry-run", action="store_true", help="replay, report the differences, change nothing")
        parser.add_argument("--list", action="store_true", help="list the projections and their checkpoints")

    def handle(self, *args, **options):
        if options["list"]:
            self._list()
            return
        names = options["names"] or None
        try:
            projection.projectors(names)
        except KeyError as exc:
            raise CommandError(exc.args[0]) from None
        try:
            if options["dry_run"]:
                result, changes = projection.dry_rebuild(names)
            else:
                result = projection.rebuild(names)
        except store.ReplayError as exc:
            raise CommandError(f"replay stopped, nothing changed: {exc}") from None
        if options["dry_run"]:
            self.stdout.write(
                f"dry run: {result['events']} events would rebuild {', '.join(result['projections'])}; "
                f"{len(changes)} row difference(s) from the live tables; nothing was changed"
            )
            for line in changes:
                self.stdout.write(f"  {line}")
            return
        self.stdout.write(
            f"rebuilt {', '.join(result['projections'])} from {result['events']} events (to #{result['position']})"
        )

    def _list(self) -> None:
        checkpoints = dict(ProjectorCheckpoint.objects.values_list("name", "position"))
        end = store.last_position()
        for p in projection.projectors():
            done = checkpoints.get(p.name, 0)
            tables = ", ".join(m._meta.db_table for m in p.models)
            behind = f"\tbehind: the log ends at #{end}" if done < end else ""
            self.stdout.write(f"{p.name}\t@{done}\t{tables}{behind}")
