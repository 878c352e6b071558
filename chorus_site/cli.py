"""The `chorus` console script: `chorus <command> [args]` runs `manage.py <command> [args]`.

A few spellings read better at a shell and are translated: `chorus events tail` follows the log, `chorus scan`
rescans the documents, `chorus store copy --to URL` moves the log to PostgreSQL, `chorus verify` checks both the
event chain and the projections.
"""

from __future__ import annotations

import os
import sys

ALIASES = {
    ("events", "tail"): ["events", "--follow"],
    ("scan",): ["scan_documents"],
    ("store", "copy"): ["copy_store"],
    ("worker",): ["run_worker"],
}


def translate(argv: list[str]) -> list[list[str]]:
    """The manage.py command lines that `chorus argv` stands for."""
    if argv[:1] == ["verify"]:
        return [["verify_events", *argv[1:]], ["verify_projections", *argv[1:]]]
    for prefix, replacement in ALIASES.items():
        if tuple(argv[: len(prefix)]) == prefix:
            return [[*replacement, *argv[len(prefix) :]]]
    return [argv]


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "chorus_site.settings")
    from django.core.management import execute_from_command_line

    if not argv or argv[0] in ("-h", "--help", "help"):
        execute_from_command_line(["chorus", "help", *argv[1:]])
        return 0
    from django.db import DatabaseError

    from events_app.database import unwritable

    for command in translate(argv):
        try:
            execute_from_command_line(["chorus", *command])
        except SystemExit as exit_:
            if exit_.code not in (None, 0):
                return int(exit_.code) if isinstance(exit_.code, int) else 1
        except DatabaseError as exc:
            # Chorus's commands say this themselves (DomainCommand); Django's own (migrate, createsuperuser) do not.
            if (problem := unwritable(exc)) is None:
                raise
            print(f"chorus {command[0]}: {problem}", file=sys.stderr)
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
