"""The prompt a task sends to its agent: its title, its description and the current text of each referenced range
under a `path:start-end` header, laid out by a template (CHORUS_PROMPT_TEMPLATE, a file, or the default below).

Template placeholders (string.Template, `$$` for a literal dollar): ${id}, ${title}, ${description}, ${priority},
${labels}, ${references}, the rendered ranges, and ${tools}, a paragraph naming the Chorus tools to call when done or
stuck (empty for a session without tools). Without a template the parts that are not empty are laid out as
`Task <id>: <title>`, the description, the ranges and the tools' paragraph, a blank line apart. Each document is
read once per prompt, however many ranges of it the task refers to.
"""

from __future__ import annotations

import re
import string
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from django.conf import settings

from tasks_app import documents
from tasks_app.anchoring import range_text
from tasks_app.errors import TaskError

_BACKTICKS = re.compile(r"`{3,}")

# For a session whose agent has Chorus's tools (an MCP server named "chorus", and the `chorus agent` twins).
TOOLS = (
    'You have Chorus\'s tools (MCP server "chorus"). When the task is done and checked, call finish_task with a '
    "summary of what you changed and how you checked it; if it cannot be done, call fail_task with the reason; if "
    "only a person can unblock you, call ask_human (the answer comes later as a message: end your turn and wait); "
    "call report_progress at milestones. Without those tools, run the same from a shell: "
    '`chorus agent finish "summary"`, `chorus agent fail "reason"`, `chorus agent ask "question"`, '
    '`chorus agent progress "note"`.'
)


def template_text() -> str | None:
    """The configured template: the file named by CHORUS_PROMPT_TEMPLATE, else None (the default layout)."""
    path = settings.CHORUS_PROMPT_TEMPLATE
    if not path:
        return None
    try:
        return Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise TaskError(f"CHORUS_PROMPT_TEMPLATE {path}: cannot read the template: {exc}") from None


def _fenced(text: str) -> str:
    """The text in a code fence longer than any backtick run inside it, so the text cannot close it early."""
    longest = max((len(run) for run in _BACKTICKS.findall(text)), default=2)
    fence = "`" * (longest + 1)
    return f"{fence}\n{text}\n{fence}"


def render_references(references: Iterable[Any], lines: dict[str, list[str]] | None = None) -> str:
    """Each range's current text under its `path:start-end` header; `references` need path, start and end.
    `lines` holds documents' lines already read (by path); others are read here, each once and split only as far
    as its last range."""
    references = list(references)
    known = lines or {}
    needed: dict[str, int] = {}
    for reference in references:
        if reference.path not in known:
            needed[reference.path] = max(needed.get(reference.path, 0), reference.end)
    read = {}
    for path, last in needed.items():
        try:
            read[path] = documents.first_lines(documents.read_text(path), last)
        except documents.DocumentUnavailable as exc:
            ranges = ", ".join(f"{r.path}:{r.start}-{r.end}" for r in references if r.path == path)
            raise TaskError(f"reference {ranges}: {exc}") from None
    sections = []
    for reference in references:
        document = known[reference.path] if reference.path in known else read[reference.path]
        text = range_text(document, reference.start, reference.end)
        sections.append(f"{reference.path}:{reference.start}-{reference.end}\n{_fenced(text)}")
    return "\n\n".join(sections)


def build_prompt(
    task: Any,
    references: Iterable[Any],
    template: str | None = None,
    *,
    lines: dict[str, list[str]] | None = None,
    tools: bool = False,
) -> str:
    """The prompt for `task` (id, title, description, priority, labels) with the current text of `references`.

    `template` (text) overrides the configured one; `lines`, documents' lines by path, spares reading again what
    the caller has just read (and checked); `tools`: the session's agent has Chorus's tools, which the prompt names.
    Raises TaskError for an unreadable document or template."""
    values = {
        "id": task.id,
        "title": task.title,
        "description": task.description.strip(),
        "priority": task.priority,
        "labels": ", ".join(task.labels),
        "references": render_references(references, lines),
        "tools": TOOLS if tools else "",
    }
    layout = template_text() if template is None else template
    if layout is None:
        parts = (f"Task {task.id}: {task.title}", values["description"], values["references"], values["tools"])
        return "\n\n".join(part for part in parts if part)
    try:
        prompt = string.Template(layout).substitute(values)
    except KeyError as exc:
        raise TaskError(
            f"the prompt template uses ${{{exc.args[0]}}}, which is not one of: {', '.join(sorted(values))}"
        ) from None
    except ValueError as exc:
        raise TaskError(f"the prompt template is malformed ({exc}); write $$ for a literal $") from None
    # Leading and trailing line breaks are never typed (see sessions_app.services.clean_message).
    return prompt.strip("\n")
