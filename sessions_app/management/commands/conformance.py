"""`manage.py conformance PROFILE`: run the agent's real CLI against a stand-in model server through Chorus and print
which signals work; non-zero when a required step fails."""

from __future__ import annotations

import dataclasses
import json
import sys
from pathlib import Path

from django.core.management.base import CommandError

from events_app.commands import DomainCommand
from sessions_app.conformance import runner
from sessions_app.conformance.clis import CLIS


class Command(DomainCommand):
    help = (
        "Run the profile's agent CLI (the pinned one from the cache, else the installed one) against a stand-in "
        "model server, through Chorus, in a throw-away HOME, project, data directory and tmux server; print a table "
        "of the steps and of the signals that detected each status, with their latencies."
    )

    def add_arguments(self, parser):
        parser.add_argument("profile", choices=sorted(CLIS), help="the agent profile whose CLI to test")
        parser.add_argument("--install", action="store_true", help="npm-install the pinned CLI into the cache first")
        parser.add_argument(
            "--install-only", action="store_true", help="npm-install the pinned CLI into the cache and stop"
        )
        parser.add_argument(
            "--pinned", action="store_true", help="only the pinned CLI from the cache, never one on PATH"
        )
        parser.add_argument("--keep", action="store_true", help="keep the scratch directory (its path is printed)")
        parser.add_argument("--json", action="store_true", help="print the report as JSON")
        parser.add_argument(
            "--drive",
            metavar="SCRATCH",
            # the second process, inside the scratch environment
            help="(internal) run the steps in this scratch directory",
        )

    def handle(self, *args, **options):
        if options["drive"]:
            return self._drive(options)
        if options["install_only"]:
            try:
                self.stdout.write(str(runner.install_pinned(options["profile"])))
            except runner.KitError as exc:
                raise CommandError(str(exc)) from None
            return None
        try:
            code = runner.prepare(
                options["profile"],
                use_installed=not options["pinned"],
                install_missing=options["install"],
                keep=options["keep"],
                as_json=options["json"],
            )
        except runner.KitError as exc:
            raise CommandError(str(exc)) from None
        if code:
            sys.exit(code)

    def _drive(self, options):
        try:
            report = runner.drive(options["profile"], Path(options["drive"]))
        except runner.KitError as exc:
            raise CommandError(str(exc)) from None
        if options["json"]:
            data = dataclasses.asdict(report)
            data["results"] = {step.name: step.result for step in report.steps}
            self.stdout.write(json.dumps(data))
        else:
            self.stdout.write(runner.render(report))
        if report.failed:
            raise CommandError(
                f"{len(report.failed)} required step(s) failed: {', '.join(s.name for s in report.failed)}"
            )
