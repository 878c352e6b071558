"""The worker's session job: one look at every pane per tick, stable status transitions, deliveries, the screens
pages show.

A tick asks tmux once for all panes and the screens of the panes that were changing, through a control client that
stays attached (sessions_app.tmux.ControlClient), so it starts no process; one batched `capture-pane` call more
for panes that started changing, and one more (in colour) while pages show screens that changed. Typing a
prompt takes a second or more (Enter delays, confirmation), so each delivery runs in a thread of its own and the
poll goes on meanwhile.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import logging
import os
import socket
import threading
import time
from datetime import datetime, timedelta
from pathlib import Path

import psutil
from django.conf import settings
from django.db import close_old_connections, connection
from django.utils import timezone

from events_app import live, store
from events_app.store import event_context
from sessions_app import exits, limits, mirror, notify, selectors, services
from sessions_app import tmux as tmux_adapter
from sessions_app.delivery import Outcome, Typist, held_reason, same_prompt, unsent
from sessions_app.detection import (
    AgentSignal,
    ProcessInfo,
    RuleMemo,
    StatusTracker,
    Verdict,
    detect,
    is_signal,
    pane_observation,
)
from sessions_app.models import LIVE, AgentQuestion, OutboxMessage, Session
from sessions_app.profiles import Profile, ProfileConfigError, Status, UnknownProfile
from sessions_app.self_report import Reader, SelfReport, SelfReportPlugin
from sessions_app.stamps import recently

log = logging.getLogger("chorus.worker.sessions")
PROFILE_CACHE_SECONDS = 5.0
# how much of an agent's question a status reason shows
SIGNAL_CHARS = 200
# A session is starting until its agent's first signal, or this long after its start: then an agent that gives
# none is told by the CPU it uses and the profile's fallback, like any other.
STARTUP_SECONDS = 30.0
# tmux marks a pane dead when its terminal closes, which may come a moment before it reaps the program and knows its
# exit status (on a loaded machine, seconds later), or never when tmux missed its SIGCHLD (Tmux.reap): a dead pane
# with neither status nor signal has the server reap, and is looked at again, for this long before it is recorded.
EXIT_STATUS_WAIT = 3.0
# seconds between two looks for requests when no doorbell rang (RequestRunner)
REQUEST_POLL = 0.5


TYPED_NOT_SUBMITTED = (
    "the worker stopped after typing it and before submitting it; it is still on the pane's input line (press Enter "
    "there, or clear it)"
)


def question_signal(question: AgentQuestion) -> AgentSignal:
    """What an agent's open question (its `ask_human`) tells detection: waiting for a person, quoting it."""
    return AgentSignal(Status.WAITING, "agent.question", f"agent asks: {question.text}"[:SIGNAL_CHARS])


def reader_key(profile: Profile) -> tuple:
    """Agents of one self-report plug-in share a reader when their profiles give them the same environment."""
    return (profile.self_report.name, tuple(sorted(profile.environment.items())))


def starting(session: Session) -> bool:
    """Whether the session's agent is still booting: started, no signal of it seen yet, and not for too long."""
    if session.status != Status.STARTING.value:
        return False
    return (timezone.now() - session.status_since).total_seconds() < STARTUP_SECONDS


class SessionMonitor:
    """The worker's session job. Status changes reach the desktop through sessions_app.policies; the monitor
    itself notifies only of what no event records (an error the agent's hooks reported). It ticks on a thread of
    its own (chorus_site.worker): its cadence is how late a status is seen."""

    own_thread = True

    def __init__(self, adapter: tmux_adapter.Tmux | None = None, notifier: notify.Notifier | None = None):
        self.interval = settings.CHORUS_POLL_INTERVAL
        self.tmux = adapter or tmux_adapter.configured(control=True)
        self._notifier = notifier
        # one reader per self-report plug-in in use and agent environment (reader_key): where an agent keeps its
        # reports depends on its HOME
        self.readers: dict[tuple, Reader] = {}
        self.trackers: dict[str, StatusTracker] = {}
        # the pane each tracker watches, by session
        self._tracked_panes: dict[str, str] = {}
        # pane id -> when it was first seen dead without an exit status yet
        self._dead_unreaped: dict[str, float] = {}
        self.screens: dict[str, tmux_adapter.PaneScreen] = {}
        # the colour captures of the screens pages show (sessions_app.mirror), by pane
        self.mirrored: dict[str, tmux_adapter.PaneScreen] = {}
        self.deliveries: dict[str, threading.Thread] = {}
        self._profiles: dict[str, Profile] = {}
        self._profiles_at = -1e9
        self._tmux_trouble: str | None = None
        # prompts the agents' self-report plug-ins heard accepted, by session: read by delivery threads
        self._accepted: dict[str, list[tuple[float, str]]] = {}
        self._accepted_lock = threading.Lock()
        self._position = -1
        self._panes: list[tmux_adapter.PaneInfo] = []
        self._busy_reported: set[str] = set()
        self._processes: dict[int, psutil.Process] = {}
        self._sessions: list[Session] = []
        self._queued: list[OutboxMessage] = []
        # what agents told Chorus through their tools: open questions (until answered), progress (for one tick)
        self._signals: dict[str, AgentSignal] = {}
        self._progressed: set[str] = set()
        self._verdicts: dict[str, tuple[tuple, Verdict]] = {}
        self._memos: dict[str, RuleMemo] = {}
        self._hook_stamps: dict[str, int] = {}
        self._hook_dirs: dict[str, Path] = {}
        # usage limits on screen; a reset the agent gives without a zone is in this machine's
        self.limits = limits.LimitWatch(
            timedelta(seconds=settings.CHORUS_LIMIT_MARGIN), datetime.now().astimezone().tzinfo
        )

    # lifecycle

    def start(self) -> None:
        if settings.CHORUS_READ_ONLY:
            log.info("read-only (CHORUS_READ_ONLY): watching the sessions; nothing is typed into them")
            return
        self._recover_interrupted_deliveries()

    def stop(self) -> None:
        for thread in list(self.deliveries.values()):
            thread.join(timeout=10)
        if isinstance(self.tmux, tmux_adapter.Tmux):
            self.tmux.close()

    # one tick

    def _read_models(self) -> tuple[list[Session], list[OutboxMessage]]:
        """This host's live sessions and their queued messages (another host's are its own worker's), read again
        only when the event log has moved since the last tick: every change to them is an event, so an unchanged
        position means unchanged rows."""
        position = store.last_position()
        if position != self._position:
            self._sessions = list(Session.objects.filter(lifecycle=LIVE, host=settings.CHORUS_HOST_NAME))
            own = [session.name for session in self._sessions]
            queued = OutboxMessage.objects.filter(state=OutboxMessage.QUEUED, session__in=own)
            self._queued = list(queued.order_by("queued_position"))
            self._progressed = selectors.progress_reported_since(self._position) if self._position >= 0 else set()
            self._signals = {name: question_signal(question) for name, question in selectors.open_questions().items()}
            self._position = position
        return self._sessions, self._queued

    def _agent_signal(self, name: str) -> AgentSignal | None:
        """An open question of the session's agent, else its progress reported since the last look (once)."""
        if name in self._signals:
            return self._signals[name]
        if name in self._progressed:
            self._progressed.discard(name)
            return AgentSignal(Status.BUSY, "agent.progress", "agent: report_progress")
        return None

    def tick(self) -> None:
        sessions, queued = self._read_models()
        names = {session.name for session in sessions}
        # Panes that were changing at the last tick are captured in the same tmux call that lists every pane.
        predicted = [
            pane.pane_id
            for pane in self._panes
            if pane.tag in names
            and pane.pane_id not in self._busy_reported
            and tmux_adapter.needs_capture(pane, self.screens.get(pane.pane_id))
        ]
        polled = self._poll(predicted)
        if polled is None:
            return
        panes, screens = polled
        self._panes = panes
        self.screens.update(screens)
        by_tag = {pane.tag: pane for pane in panes if pane.tag}
        watched: list[tuple[Session, tmux_adapter.PaneInfo]] = []
        for session in sessions:
            pane = by_tag.get(session.name)
            if pane is None:
                self._stopped(session, services.PANE_GONE, None)
                continue
            if pane.pane_id != session.pane_id:
                services.session_record_relocated(session, pane.pane_id, pane.pid)
            watched.append((session, pane))
        reports = self._self_reports(watched, fresh=set(screens))
        self._busy_reported = {p.pane_id for s, p in watched if self._busy_by_its_own_word(reports.get(s.name), p)}
        wanted = [
            pane.pane_id
            for session, pane in watched
            if pane.pane_id not in screens
            and tmux_adapter.needs_capture(pane, self.screens.get(pane.pane_id))
            and pane.pane_id not in self._busy_reported
        ]
        if wanted:
            self.screens.update(self.tmux.capture_many(wanted))
        self._mirror(watched)
        now = time.monotonic()
        observed = []
        for session, pane in watched:
            screen = self.screens.get(pane.pane_id)
            if screen is None:
                continue
            status = self._observe(session, pane, screen.text, now, reports.get(session.name))
            observed.append((session, pane, screen.text, status))
        self._start_deliveries(observed, queued)
        self._resume_after_limits(sessions)
        gone = set(self.trackers) - {s.name for s, _p in watched}
        for name in gone:
            del self.trackers[name]
            self._tracked_panes.pop(name, None)
            self._verdicts.pop(name, None)
            self.limits.forget(name)
            self._memos.pop(name, None)
        if len(self._processes) > 1000:
            self._processes = {pid: p for pid, p in self._processes.items() if p.is_running()}
        # notices the rate limit held back are said (as one) once there is room again
        (self._notifier or notify.notifier()).flush()

    def _mirror(self, watched: list[tuple[Session, tmux_adapter.PaneInfo]]) -> None:
        """Capture in colour the screens that pages show (once per pane and tick, however many pages show it) and
        store those that changed. A self-reporting busy agent is captured here too: its screen is what a person
        watching it wants to see move."""
        shown = mirror.wanted()
        panes = {pane.pane_id: (session.name, pane) for session, pane in watched if session.name in shown}
        # a screen asked for a fresh look is captured as if never seen
        self.mirrored = {
            pane_id: screen
            for pane_id, screen in self.mirrored.items()
            if pane_id in panes and not shown[panes[pane_id][0]]
        }
        due = [
            pane_id
            for pane_id, (_name, pane) in panes.items()
            if tmux_adapter.needs_capture(pane, self.mirrored.get(pane_id))
        ]
        if not due:
            return
        changed = {}
        for pane_id, screen in self.tmux.capture_many(due, ansi=True).items():
            previous = self.mirrored.get(pane_id)
            self.mirrored[pane_id] = screen
            if previous is None or previous.text != screen.text:
                name, pane = panes[pane_id]
                changed[name] = (pane_id, mirror.visible_part(screen.text, pane.cursor_y), screen.taken_at)
        mirror.record(changed)

    def _poll(self, capture: list[str]):
        try:
            polled = self.tmux.poll(capture)
        except tmux_adapter.TmuxError as exc:
            if str(exc) != self._tmux_trouble:
                log.error("cannot read tmux: %s", exc)
                self._tmux_trouble = str(exc)
            return None
        self._tmux_trouble = None
        return polled

    def profile(self, name: str) -> Profile | None:
        now = time.monotonic()
        if now - self._profiles_at > PROFILE_CACHE_SECONDS:
            self._profiles.clear()
            self._profiles_at = now
        if name not in self._profiles:
            try:
                self._profiles[name] = selectors.profile(name)
            except (UnknownProfile, ProfileConfigError) as exc:
                log.error("session profile %s cannot be used: %s", name, exc)
                return None
        return self._profiles[name]

    def _reporter(self, session: Session) -> Profile | None:
        """The session's profile if its agent reports itself."""
        profile = self.profile(session.profile)
        return profile if profile is not None and profile.self_report is not None else None

    def _self_reports(
        self, watched: list[tuple[Session, tmux_adapter.PaneInfo]], fresh: set[str]
    ) -> dict[str, SelfReport | None]:
        """What the agents that report themselves say, by session; their hooks are read on the way. A pane whose
        agent's hooks just said something is looked at this tick: unless its screen is `fresh` (captured by this
        tick's poll), the screen kept from an earlier tick is dropped, so it is captured again."""
        reporters = {s.name: profile for s, _p in watched if (profile := self._reporter(s)) is not None}
        # Every reader is refreshed, also one whose last session has gone, so it forgets that session's pane.
        pane_pids: dict[tuple, set[int]] = {key: set() for key in self.readers}
        for session, pane in watched:
            profile = reporters.get(session.name)
            if profile is not None:
                key = reader_key(profile)
                if key not in self.readers:
                    self.readers[key] = profile.self_report.reader(profile.agent_environment())
                pane_pids.setdefault(key, set()).add(pane.pid)
        for key, pids in pane_pids.items():
            self.readers[key].refresh(pids)
        reports = {}
        for session, pane in watched:
            profile = reporters.get(session.name)
            if profile is None:
                continue
            if self._read_hooks(session, profile.self_report) and pane.pane_id not in fresh:
                self.screens.pop(pane.pane_id, None)  # the agent just did something: look at its screen now
            reports[session.name] = self.readers[reader_key(profile)].report(pane.pid)
        return reports

    def _read_hooks(self, session: Session, plugin: SelfReportPlugin) -> bool:
        """Consume the session's hook payloads; True if there were any."""
        directory = self._hook_dirs.get(session.name)
        if directory is None:
            directory = self._hook_dirs[session.name] = services.hook_directory(session.name)
        try:
            stamp = os.stat(directory).st_mtime_ns
        except OSError:
            return False
        if self._hook_stamps.get(session.name) == stamp and not recently(stamp):
            return False
        self._hook_stamps[session.name] = stamp
        signals = plugin.signals(directory)
        for signal in signals:
            if signal.kind == "prompt_accepted":
                self.limits.hear(session.name, "")
                with self._accepted_lock:
                    self._accepted.setdefault(session.name, []).append((time.monotonic(), signal.text))
            elif signal.kind == "error":
                self.limits.hear(session.name, signal.text)  # a usage limit the screen may word otherwise
                notifier = self._notifier or notify.notifier()
                notifier.notify(session.name, "error", f"{session.name} hit an error", signal.text[:200])
        return bool(signals)

    def prompt_accepted(self, name: str, text: str, since: float) -> bool:
        """Whether the agent's self-report plug-in heard `text` accepted by session `name` after `since`
        (monotonic)."""
        with self._accepted_lock:
            entries = self._accepted.get(name, [])
            self._accepted[name] = [e for e in entries if e[0] > time.monotonic() - 60]
            return any(at >= since and same_prompt(text, prompt) for at, prompt in entries)

    def _process_info(self, pid: int) -> ProcessInfo:
        """The CPU use of a pane's process tree since the last sample (psutil keeps the previous reading)."""
        try:
            root = self._processes.get(pid)
            if root is None or not root.is_running():
                root = self._processes[pid] = psutil.Process(pid)
            tree = [root, *root.children(recursive=True)]
            cpu = 0.0
            for process in tree:
                cached = self._processes.setdefault(process.pid, process)
                cpu += cached.cpu_percent(None)
        except psutil.NoSuchProcess:
            return ProcessInfo(alive=False, pid=pid)
        return ProcessInfo(alive=True, pid=pid, cpu_percent=cpu)

    def _busy_by_its_own_word(self, report, pane: tmux_adapter.PaneInfo) -> bool:
        """An agent that says it is busy needs no screen capture: its word outranks the screen, and nothing is
        typed into a busy agent. This spares the costliest case, many spinners redrawing."""
        return report is not None and report.status == "busy" and pane.pane_id in self.screens

    def _observe(self, session: Session, pane: tmux_adapter.PaneInfo, screen: str, now: float, report) -> Status | None:
        profile = self.profile(session.profile)
        if profile is None:
            return None
        observation = pane_observation(
            screen, pane, agent_self_report=report, agent_signal=self._agent_signal(session.name)
        )
        # Most panes show the same thing tick after tick: the same inputs give the same verdict.
        cached = self._verdicts.get(session.name)
        if cached is not None and cached[0] == (profile, observation):
            verdict = cached[1]
        else:
            memo = self._memos.get(session.name) or self._memos.setdefault(session.name, RuleMemo())
            verdict = detect(profile, observation, memo)
            self._verdicts[session.name] = ((profile, observation), verdict)
        verdict = self.limits.overrule(session, profile, screen, verdict)
        if report is not None and report.conversation and report.conversation != session.conversation:
            services.session_bind_conversation(session, report.conversation, report.source)
        if starting(session) and not is_signal(verdict):
            # A booting CLI burns CPU and draws nothing yet: no signal of the agent, so it stays starting.
            return None
        if verdict.status is Status.UNKNOWN and profile.busy_cpu_percent is not None:
            # Nothing on screen decides: an agent burning CPU is working. Sampled only for undecided panes.
            verdict = detect(profile, dataclasses.replace(observation, process=self._process_info(pane.pid)))
        tracker = self.trackers.get(session.name)
        if tracker is None or self._tracked_panes.get(session.name) != pane.pane_id:
            # A new pane (a restart) is a new agent: what the old one showed says nothing of it.
            tracker = self.trackers[session.name] = StatusTracker()
            self._tracked_panes[session.name] = pane.pane_id
        tracker.update(verdict, now)
        if tracker.pending_until is not None and now >= tracker.pending_until:
            tracker.tick(now)
        # The read model holds what was last reported; a stable verdict that differs from it is a transition
        # (also after a restart of the session, or when the last append lost a race and must be redone).
        stable = tracker.verdict
        if stable is not None and stable.status.value != session.status:
            self._record(session, pane, stable)
        elif stable is not None and stable.asked and stable.asked not in session.status_reason:
            # waiting was recorded before its dialog was drawn (or another dialog followed): say what it asks now
            services.session_record_waiting_explained(session, stable)
        return tracker.status

    def _record(self, session: Session, pane: tmux_adapter.PaneInfo, verdict: Verdict) -> None:
        if verdict.status is Status.STOPPED:
            if self._exit_status_pending(pane):
                return
            self._stopped(session, self._why_ended(session, pane, verdict.reason), pane.dead_status)
            return
        previous = session.status
        limit = self.limits.current(session.name) if verdict.signal == limits.SIGNAL else None
        if services.session_record_status(session, verdict, limit):
            log.info("%s: %s -> %s (%s)", session.name, previous, verdict.status.value, verdict.reason)

    def _exit_status_pending(self, pane: tmux_adapter.PaneInfo) -> bool:
        """Whether a dead pane's exit status may still come (see EXIT_STATUS_WAIT): then its end waits a tick."""
        if not pane.dead or pane.dead_status is not None or pane.dead_signal is not None:
            self._dead_unreaped.pop(pane.pane_id, None)
            return False
        now = time.monotonic()
        first = self._dead_unreaped.setdefault(pane.pane_id, now)
        if now - first < EXIT_STATUS_WAIT:
            with contextlib.suppress(tmux_adapter.TmuxError):
                self.tmux.reap()
            return True
        del self._dead_unreaped[pane.pane_id]
        return False

    def _why_ended(self, session: Session, pane: tmux_adapter.PaneInfo, reason: str) -> str:
        """The verdict's reason, with what the exit status means and, for an agent that died soon after its start
        (or restart), its last lines: the card then says why."""
        # Since its last start: a restart makes it starting again (an adopted pane is unknown until a first look).
        booting = session.status in (Status.STARTING.value, Status.UNKNOWN.value)
        started = session.status_since if booting else session.created_at
        alive = (timezone.now() - started).total_seconds()
        if alive > exits.EARLY_SECONDS:
            return exits.ended_reason(reason, pane.dead_status, None, "")
        # A death is rare, so its last words are read afresh, with the lines tmux scrolled away to say the pane is
        # dead (the tick's capture may predate them).
        try:
            screen = self.tmux.capture_with_history(pane.pane_id, exits.HISTORY_LINES)
        except tmux_adapter.TmuxError:
            screen = self.screens[pane.pane_id].text if pane.pane_id in self.screens else ""
        return exits.ended_reason(reason, pane.dead_status, alive, screen)

    def _stopped(self, session: Session, reason: str, exit_status: int | None) -> None:
        if services.session_record_stopped(session, reason, exit_status):
            log.info("%s stopped: %s", session.name, reason)
        self.trackers.pop(session.name, None)

    def _resume_after_limits(self, sessions: list[Session]) -> None:
        """Queue the continue message of each session whose usage limit has reset (plus the margin): once."""
        if settings.CHORUS_READ_ONLY:
            return
        for session in limits.due(sessions, timezone.now()):
            if services.session_resume_after_limit(session):
                log.info("%s: its usage limit reset; %r queued", session.name, session.resume_text)

    # deliveries

    def _start_deliveries(
        self, observed: list[tuple[Session, tmux_adapter.PaneInfo, str, Status | None]], queued: list[OutboxMessage]
    ) -> None:
        """Start delivering the oldest queued message of each idle session whose input line is empty. One whose
        input holds a draft keeps its messages waiting, and says so on the session (`delivery_held`)."""
        if settings.CHORUS_READ_ONLY:
            return  # queued messages stay queued until a worker that may type runs
        for name, thread in list(self.deliveries.items()):
            if not thread.is_alive():
                del self.deliveries[name]
        heads: dict[str, OutboxMessage] = {}
        for message in queued:
            heads.setdefault(message.session, message)
        for session, pane, screen, status in observed:
            if session.name in self.deliveries:
                continue  # what its input line holds now is the text being delivered
            message = heads.get(session.name)
            held = ""
            profile = self.profile(session.profile)
            if message is not None and status is Status.IDLE and profile is not None:
                draft = profile.draft(screen)
                if draft:
                    held = held_reason(draft)  # a person is typing there (or left a stray key): never typed over
                else:
                    self._start_delivery(session, pane, message, profile)
            if held != session.delivery_held:
                services.session_record_delivery_held(session, held)

    def _start_delivery(
        self, session: Session, pane: tmux_adapter.PaneInfo, message: OutboxMessage, profile: Profile
    ) -> None:
        if not services.delivery_claim(message):
            return
        thread = threading.Thread(
            target=self._deliver,
            args=(session.name, message.id, message.text, pane.pane_id, profile),
            daemon=True,
            name=f"deliver-{session.name}",
        )
        self.deliveries[session.name] = thread
        thread.start()

    def _deliver(self, name: str, message_id: str, text: str, pane_id: str, profile: Profile) -> None:
        started = time.monotonic()
        try:
            accepted = functools.partial(self.prompt_accepted, name, text, started)
            outcome = Typist(self.tmux, pane_id, profile, accepted=accepted).deliver(text)
            close_old_connections()
            with event_context(actor="worker", source="worker"):
                services.delivery_finish(message_id, outcome)
        except Exception:
            log.exception("delivery of message %s failed", message_id)
        finally:
            connection.close()

    def _recover_interrupted_deliveries(self) -> None:
        """A worker that died mid-delivery left messages marked delivering. Typing them again could submit twice,
        so: text still in an agent's input line is submitted (Enter cannot submit it twice); text still on a
        shell's command line (the cursor's line) is failed with that reason; text already in the transcript is
        delivered; anything else is failed, visibly, for a person to resend. Never delivered unseen."""
        own = Session.objects.filter(host=settings.CHORUS_HOST_NAME).values_list("name", flat=True)
        for message in OutboxMessage.objects.filter(state=OutboxMessage.DELIVERING, session__in=list(own)):
            outcome = self._recover(message)
            with event_context(actor="worker", source="worker"):
                services.delivery_finish(message.id, outcome)

    def _recover(self, message: OutboxMessage) -> Outcome:
        interrupted = Outcome(False, message.attempts, reason="the worker stopped during delivery; not typed again")
        session = Session.objects.filter(pk=message.session, lifecycle=LIVE).first()
        profile = self.profile(session.profile) if session else None
        if session is None or profile is None:
            return interrupted
        try:
            screen = self.tmux.capture(session.pane_id).text
            cursor_y = self.tmux.pane(session.pane_id).cursor_y
        except tmux_adapter.TmuxError:
            return interrupted
        lines = message.text.strip().splitlines()
        head = " ".join(lines[0].split())[:40] if lines else ""
        if not head:
            return interrupted
        draft = unsent(profile, screen)
        if draft is not None:
            if head in " ".join(draft.split()):
                return Typist(self.tmux, session.pane_id, profile).submit()
            transcript = "" if draft else screen
        else:
            # The profile cannot tell its input line from the transcript (a shell): the cursor's line is where
            # unsubmitted text sits, so text there was typed and never submitted, and only the lines above it
            # are the transcript.
            rows = screen.split("\n")
            if 0 <= cursor_y < len(rows) and head in " ".join(rows[cursor_y].split()):
                return dataclasses.replace(interrupted, reason=TYPED_NOT_SUBMITTED)
            transcript = "\n".join(rows[:cursor_y])
        if head in " ".join(transcript.split()):
            return Outcome(True, message.attempts, confirmed_by="seen in the transcript after a worker restart")
        return interrupted


class RequestRunner:
    """The worker's request job: it carries out the requests for its host (sessions_app.requests), one at a time,
    on a thread of its own (a kill takes seconds: the poll goes on meanwhile). The thread sleeps on a doorbell in
    the data directory's live/ folder, which every commit rings (events_app.live), so a request appended by the web
    server or a command on this machine is taken at once. On PostgreSQL, whose askers may be on other hosts, a
    thread LISTENs for every commit (events_app.live.listen_in_thread) and rings that doorbell. REQUEST_POLL is the
    fallback (a lost ring or notification). At start, the requests it claimed before it died are settled first."""

    interval = 1.0

    def __init__(self) -> None:
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._bell: socket.socket | None = None
        self._bell_path = ""
        self._listener: threading.Thread | None = None

    def start(self) -> None:
        if settings.CHORUS_READ_ONLY:
            log.info("read-only (CHORUS_READ_ONLY): requests for this host stay pending")
            return
        services.requests_reconcile()
        folder = Path(settings.DATA_DIR) / "live"
        folder.mkdir(mode=0o700, exist_ok=True)
        self._bell_path = str(folder / f"{os.getpid()}-requests.sock")
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self._bell_path)
        self._bell = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self._bell.bind(self._bell_path)
        self._bell.settimeout(REQUEST_POLL)
        self._thread = threading.Thread(target=self._run, daemon=True, name="requests")
        self._thread.start()
        if connection.vendor == "postgresql":
            from events_app.recorders.postgres import CHANNEL

            what = f"requests from other hosts (looking every {REQUEST_POLL} s until it is back)"
            self._listener = live.listen_in_thread(CHANNEL, self._ring, self._stopping, what)

    def _ring(self) -> None:
        with contextlib.suppress(OSError), socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as ringer:
            ringer.sendto(b"!", self._bell_path)

    def tick(self) -> None:
        """The thread does the work."""

    def stop(self) -> None:
        self._stopping.set()
        if self._thread is not None:
            self._thread.join(timeout=30)
        if self._listener is not None:
            self._listener.join(timeout=5)
        if self._bell is not None:
            self._bell.close()
            with contextlib.suppress(FileNotFoundError):
                os.unlink(self._bell_path)

    def _run(self) -> None:
        try:
            while not self._stopping.is_set():
                close_old_connections()
                try:
                    for request in selectors.pending_requests(settings.CHORUS_HOST_NAME):
                        if self._stopping.is_set():
                            break
                        services.request_carry_out(request)
                except Exception:
                    log.exception("carrying out requests failed; looking again")
                self._wait()
        finally:
            connection.close()

    def _wait(self) -> None:
        """Until a ring (or REQUEST_POLL); the rings that came meanwhile are all answered by the next look."""
        try:
            self._bell.recv(64)
            self._bell.setblocking(False)
            while True:
                self._bell.recv(64)
        except (BlockingIOError, TimeoutError, OSError):
            pass
        finally:
            if not self._stopping.is_set():
                self._bell.settimeout(REQUEST_POLL)
