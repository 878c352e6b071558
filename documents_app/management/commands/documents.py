"""`manage.py documents ...`: list documents, show their numbered lines, open one in $EDITOR."""

from __future__ import annotations

import json
import re

from django.core.management.base import CommandError

from documents_app import selectors, services
from documents_app.schemas import DocumentOut, DocumentTextOut, EditorOut
from events_app.commands import DomainCommand
from events_app.store import event_context

RANGE = re.compile(r"^(\d+)?(-)?(\d+)?$")


def parse_range(text: str) -> tuple[int | None, int | None]:
    """ "A-B", "A-" (to the end), "-B" (from the start) or "A" (one line)."""
    match = RANGE.fullmatch(text.strip())
    if not match or not (match.group(1) or match.group(3)) or (match.group(3) and not match.group(2)):
        raise CommandError(f"--lines takes A-B, A-, -B or A (line numbers), not {text!r}")
    start = int(match.group(1)) if match.group(1) else None
    end = int(match.group(3)) if match.group(3) else (None if match.group(2) else start)
    return start, end


class Command(DomainCommand):
    help = "List documents, show a document's numbered lines, open one in $EDITOR at a line."

    def add_arguments(self, parser):
        parser.add_argument("--json", action="store_true", help="print JSON instead of text")
        sub = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
        sub.add_parser("list", help="documents with their line counts and titles")
        show = sub.add_parser("show", help="a document's lines, numbered, as the file holds them now")
        show.add_argument("path")
        show.add_argument("--lines", help="A-B, A-, -B or A")
        opener = sub.add_parser("open", help="open a document in $EDITOR at a line (in tmux when it is there)")
        opener.add_argument("path")
        opener.add_argument("--line", type=int, default=1)

    def handle(self, *args, action, **options):
        self.as_json = options["json"]
        with event_context(actor="cli", source="cli"):
            getattr(self, "do_" + action)(**options)

    def write_json(self, data) -> None:
        self.stdout.write(json.dumps(data, ensure_ascii=False))

    def do_list(self, **_):
        documents = list(selectors.documents())
        if self.as_json:
            self.write_json([DocumentOut.model_validate(d).model_dump(mode="json") for d in documents])
            return
        if not documents:
            self.stdout.write("no documents; find them with: scan_documents")
            return
        width = max(len(d.path) for d in documents)
        for d in documents:
            self.stdout.write(f"{d.path.ljust(width)}  {d.line_count:>6}  {d.title}".rstrip())

    def do_show(self, path, lines=None, **_):
        start, end = parse_range(lines) if lines else (None, None)
        excerpt = selectors.document_excerpt(path, start, end)
        if self.as_json:
            self.write_json(DocumentTextOut.of(excerpt).model_dump(mode="json"))
            return
        width = len(str(excerpt.end)) if excerpt.lines else 1
        for line in excerpt.lines:
            self.stdout.write(f"{line.number:>{width}}  {line.text}")

    def do_open(self, path, line, **_):
        launch = services.document_open_in_editor(path, line)
        if self.as_json:
            self.write_json(EditorOut.model_validate(launch).model_dump(mode="json"))
        elif launch.opened:
            self.stdout.write(f"opened in tmux session {launch.tmux_session}; look at it with: {launch.attach_command}")
        else:
            self.stdout.write(f"{launch.reason}; run it yourself: {launch.command}")
