from events_app.commands import DomainCommand
from events_app.store_copy import store_copy


class Command(DomainCommand):
    help = (
        "Copy this database's event log (positions, hashes, policy checkpoints) into an empty PostgreSQL database, "
        "then rebuild and verify its read models there (`chorus store copy --to postgresql://...`)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--to", required=True, metavar="URL", help="postgresql://user@host:port/database")

    def handle(self, *args, **options):
        result = store_copy(options["to"], progress=lambda line: self.stderr.write(line))
        self.stdout.write(
            f"copied {result['events']} events and {result['policy_checkpoints']} policy checkpoint(s); "
            f"target: {result['verified']}"
        )
