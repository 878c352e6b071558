"""Read models of sessions, their status history, their outboxes and their agents' tools (credentials, calls,
questions). Written only by sessions_app.projectors."""

from __future__ import annotations

from django.db import models

from sessions_app.events import this_host

STATUSES = ("starting", "unknown", "idle", "busy", "waiting", "stopped")
# A session's lifecycle: live while its pane runs, ended when its agent ended by itself or its pane vanished,
# killed when a person ended it (which is a way of ending too: the pages' "Ended" section holds both). Its
# status (idle, busy, waiting, stopped; starting while its agent boots, unknown while undecided) is what the
# worker saw; an ended session's is always stopped.
LIVE = "live"
ENDED = "ended"
KILLED = "killed"
LIFECYCLES = (LIVE, ENDED, KILLED)


class Session(models.Model):
    name = models.CharField(max_length=40, primary_key=True)
    profile = models.CharField(max_length=40)
    command = models.JSONField(default=list)
    cwd = models.CharField(max_length=1000)
    pane_id = models.CharField(max_length=20, blank=True)
    tmux_session = models.CharField(max_length=100, blank=True)
    pid = models.IntegerField(null=True)
    # the host whose worker owns its tmux server (CHORUS_HOST_NAME of the process that started or adopted it)
    host = models.CharField(max_length=100, default=this_host, db_index=True)
    # live, ended or killed (above)
    lifecycle = models.CharField(max_length=10, default=LIVE, db_index=True)
    status = models.CharField(max_length=10, default="unknown", db_index=True)
    status_reason = models.CharField(max_length=500, blank=True)
    status_rule = models.CharField(max_length=100, blank=True)
    status_since = models.DateTimeField()
    # why its queued messages wait although it is idle (a draft in its input line); empty when nothing holds them
    delivery_held = models.CharField(max_length=300, blank=True, default="")
    # the usage limit it last hit (UsageLimitReached): the agent's line and its reset, which a worker restart keeps
    limit_text = models.CharField(max_length=300, blank=True, default="")
    limit_until = models.DateTimeField(null=True)
    # when Chorus queues its continue message (ResumeScheduled); None once sent, or when none is due
    resume_at = models.DateTimeField(null=True)
    resume_text = models.CharField(max_length=200, blank=True, default="")
    # its agent's conversation id (ConversationBound), which a restart may resume
    conversation = models.CharField(max_length=200, blank=True, default="")
    adopted = models.BooleanField(default=False)
    auto_dispatch = models.BooleanField(default=False)
    created_at = models.DateTimeField()
    ended_at = models.DateTimeField(null=True)
    version = models.PositiveIntegerField()

    class Meta:
        db_table = "chorus_session"
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    @property
    def is_live(self) -> bool:
        return self.lifecycle == LIVE


class StatusChange(models.Model):
    position = models.BigIntegerField(primary_key=True)
    session = models.CharField(max_length=40, db_index=True)
    from_status = models.CharField(max_length=10)
    to_status = models.CharField(max_length=10)
    reason = models.CharField(max_length=500)
    rule = models.CharField(max_length=100)
    signal = models.CharField(max_length=40)
    text = models.CharField(max_length=500, blank=True)
    at = models.DateTimeField()

    class Meta:
        db_table = "chorus_session_status_change"
        ordering = ["-position"]

    def __str__(self) -> str:
        return f"{self.session}: {self.from_status} -> {self.to_status}"


class OutboxMessage(models.Model):
    QUEUED, DELIVERING, DELIVERED, FAILED, CANCELLED = "queued", "delivering", "delivered", "failed", "cancelled"

    id = models.CharField(max_length=40, primary_key=True)
    session = models.CharField(max_length=40, db_index=True)
    text = models.TextField()
    state = models.CharField(max_length=12, default=QUEUED, db_index=True)
    queued_position = models.BigIntegerField()
    queued_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True)
    attempts = models.PositiveIntegerField(default=0)
    confirmed_by = models.CharField(max_length=40, blank=True)
    failure_reason = models.CharField(max_length=500, blank=True)
    # the session whose agent sent it (its send_message tool); empty when a person or Chorus queued it
    sender = models.CharField(max_length=40, blank=True)
    version = models.PositiveIntegerField()

    class Meta:
        db_table = "chorus_outbox_message"
        ordering = ["queued_position"]

    def __str__(self) -> str:
        return f"{self.session}: {self.text[:40]}"


class AgentCredential(models.Model):
    """A credential of a session's agent tools, by the sha256 digest of its secret (the secret itself is neither
    here nor in the log). A session has at most one in force: issuing another revokes the one before."""

    digest = models.CharField(max_length=64, primary_key=True)
    session = models.CharField(max_length=40, db_index=True)
    tier = models.CharField(max_length=12)
    issued_position = models.BigIntegerField()
    issued_at = models.DateTimeField()
    revoked_at = models.DateTimeField(null=True)
    revoked_reason = models.CharField(max_length=500, blank=True)

    class Meta:
        db_table = "chorus_agent_credential"
        ordering = ["-issued_position"]

    def __str__(self) -> str:
        return f"{self.session} ({self.tier}{', revoked' if self.revoked_at else ''})"


class AgentCall(models.Model):
    """One call of an agent tool or its twin: the session's list of calls, and what its rate limit counts."""

    position = models.BigIntegerField(primary_key=True)
    session = models.CharField(max_length=40)
    tool = models.CharField(max_length=40)
    task_id = models.PositiveIntegerField(null=True)
    detail = models.CharField(max_length=200, blank=True)
    at = models.DateTimeField()

    class Meta:
        db_table = "chorus_agent_call"
        ordering = ["-position"]
        indexes = [models.Index(fields=["session", "at"], name="agent_call_session_at")]

    def __str__(self) -> str:
        return f"{self.session}: {self.tool}"


class AgentQuestion(models.Model):
    """A question an agent asked a person (ask_human): open until answered, or withdrawn when its session ends."""

    OPEN, ANSWERED, WITHDRAWN = "open", "answered", "withdrawn"

    id = models.CharField(max_length=40, primary_key=True)
    session = models.CharField(max_length=40, db_index=True)
    task_id = models.PositiveIntegerField(null=True)
    text = models.TextField()
    options = models.JSONField(default=list)
    state = models.CharField(max_length=10, default=OPEN, db_index=True)
    asked_position = models.BigIntegerField()
    asked_at = models.DateTimeField()
    answer = models.TextField(blank=True)
    # the actor who answered, as the event's metadata names them
    answered_by = models.CharField(max_length=100, blank=True)
    answered_at = models.DateTimeField(null=True)
    message_id = models.CharField(max_length=40, blank=True)
    withdrawn_reason = models.CharField(max_length=500, blank=True)
    version = models.PositiveIntegerField()

    class Meta:
        db_table = "chorus_agent_question"
        ordering = ["asked_position"]

    def __str__(self) -> str:
        return f"{self.session}: {self.text[:40]}"

    @property
    def is_open(self) -> bool:
        return self.state == self.OPEN


class MirroredScreen(models.Model):
    """Not a read model: the last screen the worker captured of a session someone is looking at (its terminal
    mirror on a page), with colours as tmux gives them (`capture-pane -e`). Screens are not history, so they are no
    events: the worker writes `text` (sessions_app.mirror.record), pages write `wanted_until` (mirror.watch), and a
    rebuild leaves the table alone. `seq` grows with every new text."""

    session = models.CharField(max_length=40, primary_key=True)
    pane_id = models.CharField(max_length=20, blank=True)
    text = models.TextField(blank=True)
    captured_at = models.FloatField(default=0.0)
    seq = models.PositiveIntegerField(default=0)
    # time.time() until which a page wants the worker to keep this screen current
    wanted_until = models.FloatField(default=0.0, db_index=True)

    class Meta:
        db_table = "chorus_session_screen"

    def __str__(self) -> str:
        return f"{self.session} #{self.seq}"


class SessionRequest(models.Model):
    """A request to the worker of a session's host (stream `request`): pending until that worker claims it, then
    carried or failed; a pending one may be cancelled."""

    PENDING, CLAIMED, CARRIED, FAILED, CANCELLED = "pending", "claimed", "carried", "failed", "cancelled"
    FINISHED = (CARRIED, FAILED, CANCELLED)

    id = models.CharField(max_length=40, primary_key=True)
    # start, kill, restart, keys, clear-input, remove, adopt, recover (sessions_app.requests.KINDS)
    kind = models.CharField(max_length=20)
    session = models.CharField(max_length=40, db_index=True)
    host = models.CharField(max_length=100)
    # the request's own fields but session and host (a start's profile, the keys to press, ...)
    arguments = models.JSONField(default=dict)
    # who asked, as the request's metadata names them: the events of its side effect say so too
    actor = models.CharField(max_length=100, blank=True)
    state = models.CharField(max_length=10, default=PENDING)
    requested_position = models.BigIntegerField()
    requested_at = models.DateTimeField()
    claimed_position = models.BigIntegerField(null=True)
    finished_at = models.DateTimeField(null=True)
    detail = models.JSONField(default=dict)
    reason = models.CharField(max_length=500, blank=True)
    status = models.PositiveSmallIntegerField(null=True)
    version = models.PositiveIntegerField()

    class Meta:
        db_table = "chorus_session_request"
        ordering = ["requested_position"]
        indexes = [models.Index(fields=["host", "state"], name="session_request_host_state")]

    def __str__(self) -> str:
        return f"{self.kind} {self.session or self.host} ({self.state})"

    @property
    def is_open(self) -> bool:
        return self.state not in self.FINISHED


class WorkerPresence(models.Model):
    """Not a read model: the heartbeat of the worker that owns a host (sessions_app.hosts). Presence is not
    history, so it is no event (a beat a second would swamp the log and a replay has nothing to learn from it):
    the worker writes its row, pages read it, and a rebuild leaves the table alone. `machine` and `pid` tell a
    worker that died (kill -9) from one that runs, so its successor on the same machine takes over at once."""

    host = models.CharField(max_length=100, primary_key=True)
    machine = models.CharField(max_length=255)
    pid = models.IntegerField()
    started_at = models.DateTimeField()
    last_seen = models.DateTimeField()
    # set when the worker stopped in order (SIGTERM): its host is offline from then, not a few ticks later
    stopped = models.BooleanField(default=False)

    class Meta:
        db_table = "chorus_worker_presence"
        ordering = ["host"]

    def __str__(self) -> str:
        return f"{self.host} (pid {self.pid} on {self.machine})"
