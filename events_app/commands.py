"""The base of every Chorus management command: a refused request becomes one line on stderr and a non-zero exit.

Django prints a CommandError as `CommandError: <message>` and exits 1 without a traceback; the mapping is made here
once, so a command's `handle` just calls its service: a domain error (events_app.errors), a log that cannot be read
back, a database that cannot be written (events_app.database), and text that is not UTF-8 (an argument or stdin).
"""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError
from django.db import DatabaseError

from events_app.database import unwritable
from events_app.errors import DomainError, ReplayError


class DomainCommand(BaseCommand):
    def execute(self, *args, **options):
        _check_text(options)
        try:
            return super().execute(*args, **options)
        except DomainError as exc:
            raise CommandError(str(exc)) from None
        except ReplayError as exc:
            raise CommandError(f"cannot read the log: {exc}") from None
        except DatabaseError as exc:
            if (problem := unwritable(exc)) is None:
                raise
            raise CommandError(problem) from None
        except UnicodeDecodeError as exc:
            raise CommandError(f"the input is not UTF-8 text (byte {exc.start}: {exc.reason})") from None


def _check_text(options: dict) -> None:
    """Refuse an argument with bytes that are not UTF-8: Python hands them over as lone surrogates, which no event,
    terminal or JSON answer can carry."""
    for name, value in options.items():
        for text in value if isinstance(value, list | tuple) else [value]:
            if isinstance(text, str) and not _is_unicode(text):
                raise CommandError(f"{name} is not UTF-8 text: {text.encode(errors='backslashreplace').decode()}")


def _is_unicode(text: str) -> bool:
    try:
        text.encode()
    except UnicodeEncodeError:
        return False
    return True
