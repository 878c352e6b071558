"""`chorus agent ...` (manage.py agent): the twins of the agent's MCP tools, for a shell inside the session's pane when
the tools are missing. The session and its tier come from the credential, read from the file the pane's
CHORUS_AGENT_CREDENTIAL names; each action calls one function of the facade (tasks_app.services.agent).

`chorus agent pre-edit` is no tool but the agent's own pre-edit hook (Claude Code's PreToolUse): it reads the hook's
JSON on stdin and prints the refusal of an edit that another task's path claim covers; `chorus agent permission` is
its permission dialog's hook (Claude Code's PermissionRequest), answered by the approval policy; `chorus agent
pre-commit` is the git pre-commit guard's (`tasks install-pre-commit`). None stands in the agent's way by failing:
when Chorus cannot answer, the change goes ahead (the permission dialog opens) and stderr says why."""

from __future__ import annotations

import json
import os
import re
import sys
from pathlib import Path

from events_app.commands import DomainCommand
from sessions_app.errors import AgentDenied
from tasks_app.errors import TaskError
from tasks_app.services import agent

CREDENTIAL_VARIABLE = "CHORUS_AGENT_CREDENTIAL"
LINES = re.compile(r"^(?P<start>\d+)?-(?P<end>\d+)?$|^(?P<only>\d+)$")


def credential() -> str:
    """The secret in the file CHORUS_AGENT_CREDENTIAL names; AgentDenied saying what is missing."""
    path = os.environ.get(CREDENTIAL_VARIABLE, "")
    if not path:
        raise AgentDenied(
            f"no agent credential: {CREDENTIAL_VARIABLE} is not set (run this inside a session Chorus started with "
            "agent tools)"
        )
    try:
        return Path(path).read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError) as exc:
        reason = "it is gone (the session ended or was restarted)" if isinstance(exc, FileNotFoundError) else exc
        raise AgentDenied(f"cannot read the agent credential {path}: {reason}") from None


def line_range(spec: str | None) -> tuple[int | None, int | None]:
    if spec is None:
        return None, None
    found = LINES.match(spec.strip())
    if found is None:
        raise TaskError(f"--lines {spec!r} is not A-B, A-, -B or A (line numbers)")
    if found["only"]:
        return int(found["only"]), int(found["only"])
    return (int(found["start"]) if found["start"] else None), (int(found["end"]) if found["end"] else None)


def text_argument(value: str) -> str:
    """The text given, or standard input for `-`."""
    return sys.stdin.read() if value == "-" else value


class Command(DomainCommand):
    help = (
        "Your session's Chorus tools from a shell: whoami, task, progress, finish, fail, ask, next, send, read, "
        "sessions, tasks, create, assign, claim-paths, release-paths, list-claims (and pre-edit, the file tools' hook)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--json", action="store_true", help="print the tool's result as JSON")
        sub = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
        sub.add_parser("whoami", help="your session, profile, host, tier and task")
        sub.add_parser("task", help="your task, with its references' text as it is now")
        for action, what, text in (
            ("progress", "a progress note on your task's timeline", "note"),
            ("finish", "your task goes to review with your summary", "summary"),
            ("fail", "your task fails with your reason", "reason"),
        ):
            verb = sub.add_parser(action, help=what)
            verb.add_argument("text", metavar=text.upper(), help=f"the {text} (- reads it from stdin)")
            verb.add_argument("--task", type=int, dest="task_id", help="the task you mean (refused if not yours)")
        ask = sub.add_parser("ask", help="ask the person; the answer comes as a message")
        ask.add_argument("text", metavar="QUESTION", help="the question (- reads it from stdin)")
        ask.add_argument("--option", action="append", dest="options", help="a possible answer (repeat for more)")
        sub.add_parser("next", help="take the most urgent ready task and print its prompt")
        send = sub.add_parser("send", help="queue a message for another session (fleet-write)")
        send.add_argument("session")
        send.add_argument("text", help="the message (- reads it from stdin)")
        read = sub.add_parser("read", help="read a document of the project (fleet-read)")
        read.add_argument("path")
        read.add_argument("--lines", help="A-B, A-, -B or A")
        sub.add_parser("sessions", help="the live sessions, their status and task (fleet-read)")
        tasks = sub.add_parser("tasks", help="the tasks, most urgent first (fleet-read)")
        tasks.add_argument("--status")
        tasks.add_argument("--label")
        create = sub.add_parser("create", help="add a ready task to the board (fleet-write)")
        create.add_argument("title")
        create.add_argument("--description", default="", help="Markdown; - reads it from stdin")
        create.add_argument("--priority", type=int, default=0)
        create.add_argument("--label", action="append", default=[], dest="labels")
        create.add_argument("--ref", action="append", default=[], dest="references", metavar="PATH:START-END")
        create.add_argument("--after", action="append", type=int, default=[], dest="depends_on", metavar="TASK")
        assign = sub.add_parser("assign", help="hand a ready task to another session (fleet-write)")
        assign.add_argument("task_id", type=int, metavar="TASK")
        assign.add_argument("session")
        claim = sub.add_parser("claim-paths", help="claim paths (globs) for your task before you change them")
        claim.add_argument("paths", nargs="+", metavar="GLOB", help="relative to the project's root: src/api/**")
        claim.add_argument("--reason", required=True, help="why your task needs them")
        release = sub.add_parser("release-paths", help="release claims your task holds")
        release.add_argument("paths", nargs="+", metavar="GLOB")
        sub.add_parser("list-claims", help="every live path claim, with its task and session")
        sub.add_parser("pre-edit", help="the file tools' hook: reads the hook's JSON on stdin, refuses a claimed edit")
        sub.add_parser("permission", help="the permission dialog's hook: reads its JSON on stdin, answers by policy")
        commit = sub.add_parser("pre-commit", help="the pre-commit guard: staged names on stdin (NUL-separated)")
        commit.add_argument("--top", required=True, help="the repository's top-level directory")

    def handle(self, *args, action, **options):
        if action == "pre-edit":
            self.pre_edit()
            return
        if action == "permission":
            self.permission()
            return
        if action == "pre-commit":
            self.pre_commit(options["top"])
            return
        caller = agent.authenticate(credential())
        result, text = getattr(self, "do_" + action.replace("-", "_"))(caller, **options)
        if options["json"]:
            self.stdout.write("null" if result is None else result.model_dump_json())
        else:
            self.stdout.write(text, ending="" if text.endswith("\n") else "\n")

    def do_whoami(self, caller, **_):
        who = agent.whoami(caller)
        task = f"task {who.task_id}" if who.task_id is not None else "no task"
        return who, f"session {who.session} (profile {who.profile}) on {who.host}, tier {who.tier}, {task}"

    def do_task(self, caller, **_):
        task = agent.current_task(caller)
        if task is None:
            return None, "no task at work; `chorus agent next` takes the next ready one"
        parts = [f"Task {task.id}: {task.title} ({task.status})", task.description.strip()]
        for reference in task.references:
            flag = "" if reference.state == "current" else f" [{reference.state.upper()}]"
            parts.append(f"{reference.path}:{reference.start}-{reference.end}{flag}\n{reference.text}")
        return task, "\n\n".join(part for part in parts if part)

    def do_progress(self, caller, text, task_id, **_):
        ack = agent.report_progress(caller, note=text_argument(text), task_id=task_id)
        return ack, ack.message

    def do_finish(self, caller, text, task_id, **_):
        ack = agent.finish_task(caller, summary=text_argument(text), task_id=task_id)
        return ack, ack.message

    def do_fail(self, caller, text, task_id, **_):
        ack = agent.fail_task(caller, reason=text_argument(text), task_id=task_id)
        return ack, ack.message

    def do_ask(self, caller, text, options, **_):
        asked = agent.ask_human(caller, question=text_argument(text), options=options)
        return asked, asked.message

    def do_next(self, caller, **_):
        task = agent.next_task(caller)
        if task is None:
            return None, "no task is ready for you"
        return task, task.prompt

    def do_send(self, caller, session, text, **_):
        sent = agent.send_message(caller, session=session, text=text_argument(text))
        return sent, sent.message

    def do_read(self, caller, path, lines, **_):
        start, end = line_range(lines)
        document = agent.read_document(caller, path=path, start=start, end=end)
        width = len(str(document.end))
        return document, "\n".join(f"{line.number:>{width}}  {line.text}" for line in document.lines)

    def do_sessions(self, caller, **_):
        found = agent.list_sessions(caller)
        rows = [
            f"{s.name}\t{s.status}\t{s.profile}\t" + (f"task {s.task_id}" if s.task_id else "-") + f"\t{s.reason}"
            for s in found.sessions
        ]
        return found, "\n".join(rows) or "no live session"

    def do_tasks(self, caller, status, label, **_):
        found = agent.list_tasks(caller, status=status, label=label)
        rows = [
            f"{t.id}\t{t.status}\t{t.priority}\t{t.session or '-'}\t{t.title}"
            + (f" (waits for {', '.join(map(str, t.blocked_by))})" if t.blocked_by else "")
            for t in found.tasks
        ]
        return found, "\n".join(rows) or "no task"

    def do_create(self, caller, title, description, priority, labels, references, depends_on, **_):
        task = agent.create_task(
            caller,
            title=title,
            description=text_argument(description),
            priority=priority,
            labels=labels,
            references=references,
            depends_on=depends_on,
        )
        return task, f"task {task.id} created ({task.status}): {task.title}"

    def do_assign(self, caller, task_id, session, **_):
        ack = agent.assign_task(caller, task_id=task_id, session=session)
        return ack, ack.message

    def do_claim_paths(self, caller, paths, reason, **_):
        return self._claims(agent.claim_paths(caller, paths=paths, reason=text_argument(reason)))

    def do_release_paths(self, caller, paths, **_):
        return self._claims(agent.release_paths(caller, paths=paths))

    def do_list_claims(self, caller, **_):
        return self._claims(agent.list_claims(caller))

    def _claims(self, found):
        rows = [
            f"{c.glob}\ttask {c.task_id}\t{c.session}\t{c.source}" + ("\t(yours)" if c.yours else "")
            for c in found.claims
        ]
        return found, "\n".join([found.message, *rows])

    def pre_edit(self):
        """Answer the agent's pre-edit hook; whatever goes wrong, allow the edit and say why on stderr (exit 0)."""
        try:
            payload = json.loads(sys.stdin.read() or "null")
            decision = agent.pre_edit(agent.authenticate(credential()), payload=payload)
        except Exception as exc:  # a hook that fails must not stop the agent's edit
            self.stderr.write(f"chorus: path claims not checked ({exc}): the edit is allowed")
            return
        if decision is not None and decision.answer:
            self.stdout.write(decision.answer)

    def permission(self):
        """Answer the agent's permission hook by the approval policy; whatever goes wrong, print nothing (the dialog
        opens for the person, as without a policy) and say why on stderr (exit 0)."""
        try:
            payload = json.loads(sys.stdin.read() or "null")
            answer = agent.permission(agent.authenticate(credential()), payload=payload)
        except Exception as exc:  # a hook that fails must leave the decision to the person
            self.stderr.write(f"chorus: approval policy not applied ({exc}): the person decides")
            return
        if answer:
            self.stdout.write(answer)

    def pre_commit(self, top: str):
        """Answer the pre-commit guard: exit 1 naming each staged file another task claims; whatever goes wrong,
        let the commit go and say why on stderr."""
        try:
            names = [name for name in sys.stdin.read().split("\0") if name]
            refusals = agent.pre_commit(agent.authenticate(credential()), top=top, names=names)
        except Exception as exc:  # a guard that fails must not stop the commit
            self.stderr.write(f"chorus: path claims not checked ({exc}): the commit goes ahead")
            return
        if refusals:
            self.stderr.write("\n".join(refusals))
            sys.exit(1)
