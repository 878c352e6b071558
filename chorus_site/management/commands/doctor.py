"""`chorus doctor`: the setup check (chorus_site/doctor.py), a line each, non-zero when a line fails."""

from __future__ import annotations

import json
from dataclasses import asdict

from django.core.management.base import CommandError

from chorus_site import doctor
from events_app.commands import DomainCommand

MARKS = {doctor.OK: "ok  ", doctor.WARN: "warn", doctor.FAIL: "FAIL"}


class Command(DomainCommand):
    help = "Check the setup: tmux, the agents and their signals, the notifier, data dir, database, port, read-only."

    def add_arguments(self, parser):
        parser.add_argument("--json", action="store_true", help="print JSON instead of text")

    def handle(self, *args, **options):
        findings = doctor.diagnose()
        if options["json"]:
            self.stdout.write(json.dumps([asdict(finding) for finding in findings], ensure_ascii=False))
        else:
            width = max(len(finding.topic) for finding in findings)
            for finding in findings:
                line = f"{MARKS[finding.level]}  {finding.topic:<{width}}  {finding.detail}"
                self.stdout.write(line + (f" → {finding.advice}" if finding.advice else ""))
        if doctor.failed(findings):
            problems = sum(finding.level == doctor.FAIL for finding in findings)
            raise CommandError(f"{problems} check{'s' if problems > 1 else ''} failed")
