"""`manage.py detect_status FILE ...`: classify captured screens with the worker's own detect(), for rule work."""

from __future__ import annotations

import sys
from pathlib import Path

from django.core.management.base import CommandError

from events_app.commands import DomainCommand
from sessions_app import selectors
from sessions_app.agents import DEFAULT_PROFILE
from sessions_app.detection import Observation, detect


class Command(DomainCommand):
    help = (
        "Classify screens captured with `tmux capture-pane -p` (FILE, or - for stdin) and print "
        "FILE<TAB>STATUS<TAB>REASON for each, using the same detection as the worker."
    )
    # Lets tests hand in stdin through call_command.
    stealth_options = ("stdin",)

    def add_arguments(self, parser):
        parser.add_argument("files", nargs="+", metavar="FILE", help="a captured screen; - reads stdin")
        parser.add_argument("--profile", default=DEFAULT_PROFILE, help="agent profile (default: %(default)s)")
        parser.add_argument("--current-command", default="", help="#{pane_current_command} at capture time")
        parser.add_argument("--pane-dead", type=int, choices=(0, 1), default=0, help="#{pane_dead}")
        parser.add_argument("--pane-dead-status", type=int, default=None, help="#{pane_dead_status}")
        parser.add_argument("--pane-title", default="", help="#{pane_title} at capture time")
        parser.add_argument("--alternate-on", type=int, choices=(0, 1), default=0, help="#{alternate_on}")

    def handle(self, *args, **options):
        profile = selectors.profile(options["profile"])
        stdin = options.get("stdin") or sys.stdin
        # Read every input before printing anything, so bad input gives an error and no partial table.
        screens = [(name, self._read(name, stdin)) for name in options["files"]]
        for name, screen in screens:
            observation = Observation(
                screen=screen,
                pane_title=options["pane_title"],
                pane_current_command=options["current_command"],
                pane_dead=bool(options["pane_dead"]),
                pane_dead_status=options["pane_dead_status"],
                alternate_on=bool(options["alternate_on"]),
            )
            verdict = detect(profile, observation)
            self.stdout.write(f"{name}\t{verdict.status}\t{verdict.reason}")

    def _read(self, name: str, stdin) -> str:
        if name == "-":
            # Captures are UTF-8 whatever the locale says; StringIO (tests) has no byte buffer.
            raw = getattr(stdin, "buffer", None)
            return raw.read().decode("utf-8", errors="replace") if raw else stdin.read()
        try:
            return Path(name).read_text(encoding="utf-8", errors="replace")
        except FileNotFoundError:
            raise CommandError(f"{name}: no such file") from None
        except IsADirectoryError:
            raise CommandError(f"{name}: is a directory, not a captured screen") from None
        except OSError as exc:
            raise CommandError(f"{name}: cannot read: {exc.strerror}") from None
