"""`manage.py usage [--by task|session|model|day] [--json] [--resume-dispatch]`: the tokens and cost the agents
spent, summed as asked, today's spend, and whether a budget pauses dispatch (and resuming it)."""

from __future__ import annotations

import json

from events_app.commands import DomainCommand
from events_app.store import event_context
from tasks_app import services
from tasks_app.models import UsageTotal
from tasks_app.schemas import UsageReportOut


def tokens(count: int) -> str:
    """12345678 -> 12.3M: tables of token counts are read at a glance."""
    for size, unit in ((1_000_000_000, "G"), (1_000_000, "M"), (1_000, "k")):
        if count >= size:
            return f"{count / size:.1f}{unit}"
    return str(count)


class Command(DomainCommand):
    help = "Show the tokens and cost per task, session, model or day; resume dispatch that a budget paused."

    def add_arguments(self, parser):
        parser.add_argument("--by", choices=UsageTotal.BY, default="task", help="what to sum per (default: task)")
        parser.add_argument("--json", action="store_true", dest="as_json", help="print JSON instead of a table")
        parser.add_argument("--resume-dispatch", action="store_true", help="resume dispatch paused by a budget")

    def handle(self, *args, by, as_json: bool, resume_dispatch: bool, **options):
        if resume_dispatch:
            with event_context(actor="cli", source="cli"):
                resumed = services.dispatch_resume()
            self.stdout.write("dispatch resumed" if resumed else "no budget paused dispatch")
            return
        report = UsageReportOut.of(by)
        if as_json:
            self.stdout.write(json.dumps(report.model_dump(mode="json")))
            return
        rows = [(by.upper(), "TURNS", "INPUT", "OUTPUT", "CACHE READ", "CACHE WRITE", "COST")]
        for row in report.rows:
            cost = f"${row.cost:.2f}" + (f" (+{row.unpriced} unpriced)" if row.unpriced else "")
            counts = (row.input, row.output, row.cache_read, row.cache_write)
            rows.append((row.key, str(row.turns), *(tokens(n) for n in counts), cost))
        widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
        if report.rows:
            for row in rows:
                self.stdout.write("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip())
        else:
            self.stdout.write("no usage recorded yet")
        self.stdout.write(f"today: ${report.today:.2f}")
        if report.dispatch_paused:
            self.stdout.write(f"dispatch paused: {report.dispatch_paused} (resume: chorus usage --resume-dispatch)")
