"""The base of every Chorus management command: a refused request becomes one line on stderr and a non-zero exit.

Django prints a CommandError as `CommandError: <message>` and exits 1 without a traceback; the mapping is made here
once, so a command's `handle` just calls its service: a domain error (events_app.errors), a log that cannot be read
back, a database that cannot be written (events_app.database), and text that is not UTF-8 (an argument or stdin).
"""

from __future__ import annotations

import argparse

from django.core.management.base import BaseCommand, CommandError
from django.db import DatabaseError

from events_app.database import unmigrated, unwritable
from events_app.errors import DomainError, ReplayError


class DomainCommand(BaseCommand):
    # Django's system checks import every URL, view and API schema (django-ninja, pydantic): a second on each
    # `sessions list`. `check`, `migrate` and the long-running commands (start, run_worker) still run them.
    requires_system_checks: list[str] | str = []

    def create_parser(self, prog_name, subcommand, **kwargs):
        parser = super().create_parser(prog_name, subcommand, **kwargs)
        _json_anywhere(parser)
        return parser

    def execute(self, *args, **options):
        _check_text(options)
        try:
            return super().execute(*args, **options)
        except DomainError as exc:
            raise CommandError(str(exc)) from None
        except ReplayError as exc:
            raise CommandError(f"cannot read the log: {exc}") from None
        except DatabaseError as exc:
            if (problem := unwritable(exc) or unmigrated(exc)) is None:
                raise
            raise CommandError(problem) from None
        except UnicodeDecodeError as exc:
            raise CommandError(f"the input is not UTF-8 text (byte {exc.start}: {exc.reason})") from None


def _json_anywhere(parser: argparse.ArgumentParser) -> None:
    """`--json` where a person puts it: before the action (`sessions --json list`) or after it (`sessions list
    --json`, `sessions history NAME --json`), the same flag either way, for a command where any action prints JSON."""
    actions = [child for sub in _subparsers(parser) for child in sub.choices.values()]
    if not actions or not any(_json_flags(p) for p in [parser, *actions]):
        return
    if not _json_flags(parser):
        parser.add_argument("--json", action="store_true", help="print JSON instead of text")
    for action in actions:
        # SUPPRESS: an action's own default must not overwrite a --json given before the action.
        for flag in _json_flags(action) or [
            action.add_argument("--json", action="store_true", help="print JSON instead of text")
        ]:
            flag.default = argparse.SUPPRESS
        _json_anywhere(action)


def _subparsers(parser: argparse.ArgumentParser) -> list[argparse._SubParsersAction]:
    return [action for action in parser._actions if isinstance(action, argparse._SubParsersAction)]


def _json_flags(parser: argparse.ArgumentParser) -> list[argparse.Action]:
    return [action for action in parser._actions if "--json" in action.option_strings]


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
