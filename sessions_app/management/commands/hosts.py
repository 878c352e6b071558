"""`manage.py hosts`: every host, whether its worker is online, and its live sessions; --json for scripts."""

from __future__ import annotations

import json

from django.core.serializers.json import DjangoJSONEncoder
from django.utils import timezone

from events_app.commands import DomainCommand
from sessions_app import selectors


class Command(DomainCommand):
    help = "List the hosts: each one's worker online or offline (since when), its machine and pid, its live sessions."

    def add_arguments(self, parser):
        parser.add_argument("--json", action="store_true", help="print JSON instead of a table")

    def handle(self, *args, **options):
        found = selectors.hosts()
        if options["json"]:
            # Imported here: the API's schemas load django-ninja and pydantic, which a table for people does not need.
            from sessions_app.schemas import HostOut

            data = [HostOut.from_orm(host).model_dump() for host in found]
            self.stdout.write(json.dumps(data, ensure_ascii=False, cls=DjangoJSONEncoder))
            return
        if not found:
            self.stdout.write("no hosts yet: a host appears when its worker starts (chorus worker)")
            return
        table = [("HOST", "STATE", "SESSIONS", "WORKER", "LAST SEEN")]
        for host in found:
            seen = timezone.localtime(host.last_seen).strftime("%Y-%m-%d %H:%M:%S") if host.last_seen else "never"
            worker = f"pid {host.pid} on {host.machine}" if host.pid else "-"
            table.append(
                (host.name, "online" if host.online else host.offline_reason, host.live_sessions, worker, seen)
            )
        widths = [max(len(str(row[i])) for row in table) for i in range(len(table[0]))]
        for row in table:
            self.stdout.write("  ".join(str(c).ljust(w) for c, w in zip(row, widths, strict=True)).rstrip())
