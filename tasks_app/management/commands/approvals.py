"""`chorus approvals ...`: check the approval policy file, pause or resume approval policies fleet-wide, and ask what
a request would be decided (and by which rule) without recording anything."""

from __future__ import annotations

import sys

from django.core.management.base import CommandError

from events_app.commands import DomainCommand
from events_app.store import event_context
from tasks_app import approvals, selectors
from tasks_app.services import approvals as services


class Command(DomainCommand):
    help = "Check the approval policy (chorus.toml), pause or resume it fleet-wide, test what a request would get."

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
        sub.add_parser("check", help="validate the policy file: one line per problem naming the file and rule")
        for action in ("pause", "resume"):
            switch = sub.add_parser(action, help=f"{action} approval policies fleet-wide (paused: every request asks)")
            switch.add_argument("--reason", default="")
        test = sub.add_parser("test", help="what a request would be decided, and by which rule (nothing recorded)")
        test.add_argument("--tool", required=True, help="Bash, Edit, Write, Read, ...")
        test.add_argument("--command", default="", help="the command's text (Bash)")
        test.add_argument("--path", action="append", default=[], dest="files", help="a file the tool names")
        test.add_argument("--session", default="", help="the session asking (its task's claims count)")
        test.add_argument("--profile", default="")

    def handle(self, *args, action, **options):
        with event_context(actor="cli", source="cli"):
            getattr(self, "do_" + action)(**options)

    def do_check(self, **_):
        source = selectors.approval_policy_source()
        policy = source.current()
        if source.problems:
            self.stderr.write("\n".join(source.problems))
            sys.exit(1)
        where = str(source.path) if source.path.exists() else f"{source.path} (absent: the default policy)"
        self.stdout.write(f"{where}: {len(policy.rules)} rule(s), valid")

    def do_pause(self, reason, **_):
        changed = services.approvals_pause(reason)
        self.stdout.write("approvals paused: every request asks the person" if changed else "already paused")

    def do_resume(self, reason, **_):
        changed = services.approvals_resume(reason)
        self.stdout.write("approvals resumed: the rules decide again" if changed else "not paused")

    def do_test(self, tool, command, files, session, profile, **_):
        if not tool.strip():
            raise CommandError("--tool names the tool (Bash, Edit, ...)")
        request = approvals.Request(tool.strip(), command, tuple(files), "", session, profile)
        decision = services.approval_decide(request, record=False)
        self.stdout.write(f"{decision.decision} by {decision.rule}: {decision.reason}")
