"""`manage.py scan_documents`: look at the whole tree once and record what changed; prints the counts."""

from __future__ import annotations

import json

from django.core.management.base import CommandError

from documents_app import services
from documents_app.schemas import ScanOut
from events_app.commands import DomainCommand
from events_app.store import event_context


class Command(DomainCommand):
    help = "Find documents under PROJECT_ROOT and record those added, changed or removed since the last look."

    def add_arguments(self, parser):
        parser.add_argument("--json", action="store_true", help="print JSON instead of text")

    def handle(self, *args, **options):
        with event_context(actor="cli", source="cli"):
            result = services.documents_scan()
        if options["json"]:
            self.stdout.write(json.dumps(ScanOut.model_validate(result).model_dump(mode="json"), ensure_ascii=False))
        else:
            counts = ", ".join(f"{name} {count}" for name, count in result.counts().items())
            self.stdout.write(f"{counts} ({result.seconds:.2f} s)")
            for note in result.skipped_files:
                self.stdout.write(f"skipped {note.path}: {note.reason}")
        if result.errors:
            for error in result.errors[:-1]:
                self.stderr.write(error)
            raise CommandError(f"{result.errors[-1]} ({len(result.errors)} document(s) not recorded)")
