"""`manage.py tasks ...`: add, list, show, assign, finish, review and dispatch tasks from the command line; tables
for people, --json for scripts. A command acts on the task as it is when the command runs (its current version)."""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys

from django.core.management.base import CommandError

from events_app.commands import DomainCommand
from events_app.store import event_context
from tasks_app import selectors, services, worktrees
from tasks_app.errors import TaskError
from tasks_app.models import STATUSES, Task
from tasks_app.schemas import (
    BranchDiffOut,
    ClaimOut,
    CommentOut,
    DispatchRoundOut,
    MergeOut,
    ReviewOut,
    TaskDetailOut,
    TaskOut,
)
from tasks_app.worktrees import ISOLATIONS, SHARED, WORKTREE


class Command(DomainCommand):
    help = (
        "Add, edit claims of, list, show, assign, finish, reopen, review and dispatch tasks; give them worktrees and "
        "merge them; list the live path claims."
    )

    def add_arguments(self, parser):
        output = argparse.ArgumentParser(add_help=False)
        output.add_argument("--json", action="store_true", help="print JSON instead of text")
        sub = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
        add = sub.add_parser("add", parents=[output], help="add a task (ready unless --backlog)")
        add.add_argument("title")
        add.add_argument("--description", default="", help="Markdown; - reads it from stdin")
        add.add_argument("--priority", type=int, default=0, help="higher goes first")
        add.add_argument("--label", action="append", default=[], help="repeatable")
        add.add_argument("--ref", action="append", default=[], metavar="PATH:START-END", help="repeatable")
        add.add_argument("--after", action="append", type=int, default=[], metavar="TASK", help="a task to wait for")
        add.add_argument("--backlog", action="store_true", help="park it in the backlog instead of making it ready")
        add.add_argument(
            "--isolation", choices=ISOLATIONS, default=SHARED, help="worktree: it works in a git worktree of its own"
        )
        add.add_argument(
            "--claim", action="append", default=[], metavar="GLOB", help="a path it will touch (repeatable): src/api/**"
        )
        isolation = sub.add_parser("isolation", parents=[output], help="choose where a task works")
        isolation.add_argument("task")
        isolation.add_argument("isolation", choices=ISOLATIONS)
        worktree = sub.add_parser("worktree", help="a task's own git worktree (branch chorus/task-N)")
        steps = worktree.add_subparsers(dest="step", required=True, metavar="STEP")
        create = steps.add_parser("create", parents=[output], help="make the task's worktree")
        create.add_argument("task")
        create.add_argument("--base", default="HEAD", help="a branch, tag or commit to start from (default HEAD)")
        start = steps.add_parser(
            "start", parents=[output], help="start a session in the task's worktree (made if need be) and assign it"
        )
        start.add_argument("task")
        start.add_argument("--profile", required=True, help="the agent profile of the new session")
        start.add_argument("--session", help="its name (default task-N)")
        start.add_argument("--base", default="HEAD", help="a branch, tag or commit, if the worktree is made now")
        remove = steps.add_parser("remove", parents=[output], help="remove the task's worktree and branch")
        remove.add_argument("task")
        remove.add_argument("--force", action="store_true", help="even if it holds work not merged")
        diff = steps.add_parser("diff", parents=[output], help="the task's branch against its base")
        diff.add_argument("task")
        merge = sub.add_parser("merge", parents=[output], help="merge a task's branch into the shared checkout")
        merge.add_argument("task")
        merge.add_argument("--no-ff", action="store_true", help="always a merge commit")
        edit = sub.add_parser("edit", parents=[output], help="change a task's declared path claims")
        edit.add_argument("task")
        edit.add_argument("--claim", action="append", default=[], metavar="GLOB", help="declare a path (repeatable)")
        edit.add_argument("--unclaim", action="append", default=[], metavar="GLOB", help="withdraw one (repeatable)")
        sub.add_parser("claims", parents=[output], help="the live path claims, with their tasks and sessions")
        sub.add_parser("install-pre-commit", help="a git pre-commit guard refusing agents' commits of claimed paths")
        listing = sub.add_parser("list", parents=[output], help="tasks, most urgent first")
        listing.add_argument("--status", choices=STATUSES)
        listing.add_argument("--label")
        listing.add_argument("--all", dest="include_archived", action="store_true", help="archived tasks too")
        show = sub.add_parser("show", parents=[output], help="a task, its references and the prompt it would send")
        show.add_argument("task")
        assign = sub.add_parser("assign", parents=[output], help="send the task's prompt to a session")
        assign.add_argument("task")
        assign.add_argument("session")
        assign.add_argument(
            "--force", action="store_true", help="assign it even though the session runs no agent (a shell)"
        )
        for action, what in (("done", "mark done"), ("fail", "mark failed"), ("reopen", "make ready again")):
            finish = sub.add_parser(action, parents=[output], help=what)
            finish.add_argument("task")
            finish.add_argument("--note", default="", help="the result, or why")
        sub.add_parser("dispatch", parents=[output], help="run one dispatch round now")
        review = sub.add_parser("review", parents=[output], help="the files a task changed, its summary, comments")
        review.add_argument("task")
        comment = sub.add_parser("comment", parents=[output], help="comment on a line of a task in review")
        comment.add_argument("task")
        comment.add_argument("where", metavar="PATH:LINE")
        comment.add_argument("text")
        for action, what in (
            ("request-changes", "send the comments to the task's session; the task is in progress again"),
            ("approve", "approve a task in review: it is done"),
        ):
            sub.add_parser(action, parents=[output], help=what).add_argument("task")

    def handle(self, *args, action, **options):
        self.as_json = options["json"]
        with event_context(actor="cli", source="cli"):
            getattr(self, "do_" + action.replace("-", "_"))(**options)

    def emit(self, data, text: str) -> None:
        self.stdout.write(json.dumps(data, ensure_ascii=False) if self.as_json else text)

    def emit_task(self, task: Task, text: str) -> None:
        self.emit(TaskOut.of(task).model_dump(mode="json"), text)

    def do_add(self, title, description, priority, label, ref, after, backlog, isolation, claim, **_):
        if description == "-":
            description = sys.stdin.read()
        status = "backlog" if backlog else "ready"
        task = services.task_create(
            title, description, priority, label, after, ref, status=status, isolation=isolation, claims=claim
        )
        self.emit_task(task, f"added task {task.id} ({task.status}): {task.title}")

    def do_edit(self, task, claim, unclaim, **_):
        found = selectors.task(task)
        withdrawn = set(services.checked_globs(unclaim))
        wanted = [glob for glob in [*found.claims, *claim] if glob not in withdrawn]
        edited = services.task_update(found.id, expected_version=found.version, claims=wanted)
        self.emit_task(edited, f"task {edited.id} claims: {', '.join(edited.claims) or 'none'}")

    def do_install_pre_commit(self, **_):
        hook = services.pre_commit_install()
        self.stdout.write(f"installed {hook}: a commit by an agent touching another task's claimed paths is refused")

    def do_claims(self, **_):
        claims = ClaimOut.many(selectors.live_claims())
        rows = [f"{c.glob}\ttask {c.task_id}\t{c.session}\t{c.source}" for c in claims]
        self.emit([c.model_dump(mode="json") for c in claims], "\n".join(rows) or "no live claims")

    def do_list(self, status, label, include_archived, **_):
        tasks = TaskOut.many(selectors.tasks(status=status, label=label, archived=None if include_archived else False))
        if self.as_json:
            self.emit([task.model_dump(mode="json") for task in tasks], "")
            return
        if not tasks:
            self.stdout.write("no tasks; add one with: tasks add TITLE --ref PATH:START-END")
            return
        rows = [("ID", "STATUS", "PRI", "SESSION", "TITLE")]
        for task in tasks:
            status_text = (
                task.status + (" (blocked)" if task.blocked_by else "") + (" ⚠" if task.stale_references else "")
            )
            rows.append((str(task.id), status_text, str(task.priority), task.session or "-", task.title))
        widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
        for row in rows:
            self.stdout.write("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip())

    def do_show(self, task, **_):
        shown = TaskDetailOut.of(selectors.task(task))
        lines = [f"task {shown.id}: {shown.title}"]
        keys = (
            "status",
            "priority",
            "labels",
            "claims",
            "session",
            "depends_on",
            "blocked_by",
            "dependents",
            "version",
        )
        for key in keys:
            lines.append(f"  {key}: {getattr(shown, key)}")
        if shown.worktree_state:
            lines.append(f"  worktree ({shown.worktree_state}): {shown.worktree_path} on {shown.worktree_branch}")
        elif shown.isolation == WORKTREE:
            lines.append("  isolation: worktree (none made yet)")
        if shown.result_note:
            lines.append(f"  note: {shown.result_note}")
        for reference in shown.references:
            lines.append(
                f"  reference {reference.id} {reference.path}:{reference.start}-{reference.end} ({reference.state})"
            )
            lines += ["    " + line for line in reference.diff.splitlines()]
        lines += ["", "prompt:" if shown.prompt is not None else f"no prompt: {shown.prompt_error}"]
        if shown.prompt is not None:
            lines.append(shown.prompt)
        self.emit(shown.model_dump(mode="json"), "\n".join(lines))

    def do_assign(self, task, session, force=False, **_):
        found = selectors.task(task)
        assigned = services.task_assign(found.id, session, expected_version=found.version, confirm_not_agent=force)
        self.emit_task(assigned, f"task {assigned.id} assigned to {session}: its prompt is queued")

    def do_done(self, task, note, **_):
        found = selectors.task(task)
        done = services.task_done(found.id, expected_version=found.version, note=note)
        self.emit_task(done, f"task {done.id} done")

    def do_fail(self, task, note, **_):
        found = selectors.task(task)
        failed = services.task_fail(found.id, expected_version=found.version, reason=note)
        self.emit_task(failed, f"task {failed.id} failed")

    def do_reopen(self, task, note, **_):
        found = selectors.task(task)
        reopened = services.task_reopen(found.id, expected_version=found.version, reason=note)
        self.emit_task(reopened, f"task {reopened.id} is ready again")

    def do_isolation(self, task, isolation, **_):
        found = selectors.task(task)
        changed = services.task_set_isolation(found.id, isolation, expected_version=found.version)
        where = "its own worktree" if isolation == WORKTREE else "the shared checkout"
        self.emit_task(changed, f"task {changed.id} works in {where}")

    def do_worktree(self, step, task, **options):
        found = selectors.task(task)
        if step == "diff":
            shown = worktrees.branch_diff(found)
            if shown is None:
                raise CommandError(f"task {found.id} has no worktree or branch to compare")
            self.emit(BranchDiffOut.model_validate(dataclasses.asdict(shown)).model_dump(mode="json"), shown.text)
            return
        if step == "create":
            made = services.worktree_create(found.id, expected_version=found.version, base=options["base"])
            self.emit_task(made, f"task {made.id} works in {made.worktree_path} on branch {made.worktree_branch}")
        elif step == "start":
            started = services.worktree_start(
                found.id,
                options["profile"],
                expected_version=found.version,
                session=options["session"],
                base=options["base"],
            )
            self.emit_task(started, f"task {started.id} assigned to {started.session}, in {started.worktree_path}")
        else:
            removed = services.worktree_remove(found.id, expected_version=found.version, force=options["force"])
            self.emit_task(removed, f"task {removed.id}'s worktree and branch {removed.worktree_branch} are removed")

    def do_merge(self, task, no_ff, **_):
        found = selectors.task(task)
        merged_task, merged = services.worktree_merge(found.id, expected_version=found.version, no_ff=no_ff)
        if not merged.changed:
            text = f"nothing to merge: {merged.into} has all of {merged_task.worktree_branch}"
        else:
            how = "fast-forward" if merged.fast_forward else "merge commit"
            text = f"merged {merged_task.worktree_branch} into {merged.into} ({how}): {merged.commit[:12]}"
        self.emit(MergeOut.of(merged_task, merged).model_dump(mode="json"), text)

    def do_dispatch(self, **_):
        done = services.dispatch_round()
        lines = [f"task {t.id} -> {t.session}" for t in done.assigned] or ["nothing dispatched"]
        lines += [f"task {task_id} passed over: {reason}" for task_id, reason in done.skipped]
        self.emit(DispatchRoundOut.of(done).model_dump(mode="json"), "\n".join(lines))

    def do_review(self, task, **_):
        shown = ReviewOut.of(selectors.task(task))
        lines = [f"task {shown.task.id} ({shown.task.status}): {shown.task.title}"]
        if shown.summary:
            lines.append(f"  summary: {shown.summary}")
        if shown.attribution_off:
            lines.append(f"  {shown.attribution_off}")
        elif not shown.files:
            lines.append("  no changed file seen")
        for f in shown.files:
            counts = f"+{'?' if f.added is None else f.added} -{'?' if f.removed is None else f.removed}"
            shared = f"  (shared with task {', '.join(map(str, f.shared_with))})" if f.shared_with else ""
            lines.append(f"  {counts:>12}  {f.path}{shared}")
        for c in shown.comments:
            lines.append(f"  comment {c.path}:{c.line}: {c.text}{'' if c.sent_in else '  (not sent yet)'}")
        self.emit(shown.model_dump(mode="json"), "\n".join(lines))

    def do_comment(self, task, where, text, **_):
        path, _colon, line = where.rpartition(":")
        if not path or not line.isdigit():
            raise TaskError(f"name the line as PATH:LINE (src/app.py:12), not {where!r}")
        made = services.review_comment(selectors.task(task).id, path, int(line), text)
        self.emit(
            CommentOut.model_validate(made, from_attributes=True).model_dump(mode="json"), f"comment on {where} added"
        )

    def do_request_changes(self, task, **_):
        found = selectors.task(task)
        back = services.task_request_changes(found.id, expected_version=found.version)
        self.emit_task(back, f"task {back.id}: the comments are queued for {back.session}; it is in progress again")

    def do_approve(self, task, **_):
        found = selectors.task(task)
        done = services.task_approve(found.id, expected_version=found.version)
        self.emit_task(done, f"task {done.id} approved: done")
