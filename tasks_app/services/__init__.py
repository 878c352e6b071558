"""Task services: the only writers of task and assignment events, one module per concern. Entry points (API,
admin, commands, pages) and the policies call these; each validates, decides and appends, and a refused request
writes nothing. Every service that changes a task takes the version of it the caller saw, keyword-only
(`expected_version=`); a stale one raises events_app.store.ConcurrencyError (HTTP 409).

- tasks: create, edit, dependencies, archive, and a person's transitions of the lifecycle;
- references: line ranges of documents that follow their text;
- assignment: a prompt queued for a session holding its slot, and both given back when the task leaves work;
- claims: path claims held by tasks, and the check before an agent's edit;
- dispatch: ready tasks handed to free opted-in sessions;
- following: a task at work moving with its session;
- changes: which files each task changed (snapshots, the worker's watch);
- review: comments on a task's diff, changes requested, approval;
- usage: the tokens and cost of sessions' turns, and budgets pausing dispatch;
- approvals: an agent's permission requests decided by the approval policy and recorded, the pause switch;
- worktrees: where a task works (its isolation) and its own git worktree: made, started in, merged, removed.
"""

from tasks_app.services.approvals import (
    approval_answer_on_screen,
    approval_decide,
    approval_keys_send,
    approvals_pause,
    approvals_policy_save,
    approvals_resume,
)
from tasks_app.services.assignment import LimitReached, SessionBusy, prompt_withdraw, slot_release, task_assign
from tasks_app.services.changes import Watch, changes_snapshot, changes_watch
from tasks_app.services.claims import (
    ClaimConflict,
    checked_globs,
    claims_release,
    claims_take,
    edit_check,
    pre_commit_install,
)
from tasks_app.services.dispatch import DispatchRound, DispatchView, dispatch_round
from tasks_app.services.following import (
    task_follow_prompt_lost,
    task_follow_session_end,
    task_follow_status,
    tasks_review_quiet,
)
from tasks_app.services.references import (
    Range,
    reference_add,
    reference_refresh,
    reference_remove,
    references_check,
    references_follow,
)
from tasks_app.services.review import review_comment, task_approve, task_request_changes
from tasks_app.services.tasks import (
    task_add_dependency,
    task_archive,
    task_cancel,
    task_create,
    task_done,
    task_fail,
    task_ready,
    task_remove_dependency,
    task_reopen,
    task_set_status,
    task_shelve,
    task_unarchive,
    task_unassign,
    task_update,
)
from tasks_app.services.usage import (
    budget_crossed,
    dispatch_pause,
    dispatch_resume,
    usage_record,
    usage_record_sessions,
)
from tasks_app.services.worktrees import (
    task_set_isolation,
    worktree_create,
    worktree_merge,
    worktree_remove,
    worktree_start,
)

__all__ = [
    "ClaimConflict",
    "DispatchRound",
    "DispatchView",
    "LimitReached",
    "Range",
    "SessionBusy",
    "Watch",
    "approval_answer_on_screen",
    "approval_decide",
    "approval_keys_send",
    "approvals_pause",
    "approvals_policy_save",
    "approvals_resume",
    "budget_crossed",
    "changes_snapshot",
    "changes_watch",
    "checked_globs",
    "claims_release",
    "claims_take",
    "dispatch_pause",
    "dispatch_resume",
    "dispatch_round",
    "edit_check",
    "pre_commit_install",
    "prompt_withdraw",
    "reference_add",
    "reference_refresh",
    "reference_remove",
    "references_check",
    "references_follow",
    "review_comment",
    "slot_release",
    "task_add_dependency",
    "task_approve",
    "task_archive",
    "task_assign",
    "task_cancel",
    "task_create",
    "task_done",
    "task_fail",
    "task_follow_prompt_lost",
    "task_follow_session_end",
    "task_follow_status",
    "task_ready",
    "task_remove_dependency",
    "task_reopen",
    "task_request_changes",
    "task_set_isolation",
    "task_set_status",
    "task_shelve",
    "task_unarchive",
    "task_unassign",
    "task_update",
    "tasks_review_quiet",
    "usage_record",
    "usage_record_sessions",
    "worktree_create",
    "worktree_merge",
    "worktree_remove",
    "worktree_start",
]
