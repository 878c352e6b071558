"""The base of every Chorus management command: a domain error becomes one line on stderr and a non-zero exit.

Django prints a CommandError as `CommandError: <message>` and exits 1 without a traceback; the mapping from
events_app.errors.DomainError is made here once, so a command's `handle` just calls its service.
"""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from events_app.errors import DomainError, ReplayError


class DomainCommand(BaseCommand):
    def execute(self, *args, **options):
        try:
            return super().execute(*args, **options)
        except DomainError as exc:
            raise CommandError(str(exc)) from None
        except ReplayError as exc:
            raise CommandError(f"cannot read the log: {exc}") from None
