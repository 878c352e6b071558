"""The conformance run: a real agent CLI against its stand-in, driven THROUGH Chorus (its services and its worker
process), in a throw-away HOME, project, data directory and private tmux server, so what is tested is Chorus's
detection and delivery for that CLI version. It prints which signals work and how late each status is seen.

Two processes: `prepare` (the command a person runs) makes the scratch directories and runs the command again as
`--drive` in their environment, so that Django, the worker, the web server and tmux all see only the scratch ones;
`drive` starts the stand-in, the worker and the web server (the agent's MCP calls) and walks the steps.
"""

from __future__ import annotations

import dataclasses
import datetime
import json
import math
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace

import psutil

from sessions_app.conformance.clis import CLIS, Cli, CliMissing, cache_dir, install
from sessions_app.conformance.standin import CLAIMED_FILE, ModelRequest, StandIn
from sessions_app.limits import LimitWatch

SESSION = "kit"
# The second session, whose task holds a claim on the file the agent is asked to change.
HOLDER = "kit-holder"
STATUS_TIMEOUT = 45.0
DRAFT_HOLD_SECONDS = 4.0
# How often the kit looks at the pane itself; its measured latencies are as fine as this.
WATCH_SECONDS = 0.05
# as long as a person takes at least to read a dialog before answering it
ANSWER_PAUSE = 0.5
# How long a CLI may take to show its usage limit (it may retry a 429 first).
LIMIT_TIMEOUT = 30.0
# Chorus's margin after a limit's reset in the kit (CHORUS_LIMIT_MARGIN): short, as the stand-in's reset is near.
LIMIT_MARGIN = 5
# How long the worker's usage meter may take to read the last answers (it looks every CHORUS_TASK_INTERVAL).
USAGE_TIMEOUT = 20.0
# How long after the reset a CLI that goes on by itself may take (Claude Code 2.1.330 took 45-105 s) or the
# continue message Chorus queued may take to reach the model.
AFTER_RESET_TIMEOUT = 150.0
# How long the agent may take to call Chorus's MCP tool, dialogs answered on the way.
MCP_TIMEOUT = 20.0

# Steps known to fail because of a bug another part of Chorus is fixing (issue 14's item named), by profile: the
# run reports them as "xfail" and does not fail on them; one that passes is reported as "xpass". The integrator
# removes an entry when its fix is merged.
EXPECTED_FAILURES: dict[tuple[str, str], str] = {}


def quotes_a_dialog(reason: str) -> bool:
    """Whether a waiting reason says what the dialog asks (sessions_app.dialogs.Dialog.describe)."""
    return "asks '" in reason or "options:" in reason


class KitError(Exception):
    """The run could not be made (a missing CLI, a CLI that never became idle); one line for the person."""


@dataclass
class Step:
    name: str
    required: bool = True
    ok: bool | None = None
    detail: str = ""
    expected_failure: str = ""

    @property
    def result(self) -> str:
        if self.ok is None:
            return "skipped"
        if self.expected_failure:
            return "xpass" if self.ok else "xfail"
        return "ok" if self.ok else "FAIL"

    @property
    def failed(self) -> bool:
        return self.required and self.ok is False and not self.expected_failure


@dataclass
class Seen:
    """A status Chorus recorded: when, by which rule and kind of signal, and how long after its cause."""

    status: str
    at: float
    rule: str
    signal: str
    reason: str
    latency: float | None = None
    # the kit's step that was under way when the kit read it
    step: str = ""


@dataclass
class Report:
    profile: str
    version: str = ""
    steps: list[Step] = field(default_factory=list)
    seen: list[Seen] = field(default_factory=list)
    requests: int = 0

    @property
    def failed(self) -> list[Step]:
        return [step for step in self.steps if step.failed]

    def step(self, name: str, required: bool = True) -> Step:
        found = Step(name, required, expected_failure=EXPECTED_FAILURES.get((self.profile, name), ""))
        self.steps.append(found)
        return found


def latency_summary(values: Iterable[float]) -> str:
    """`p50 / p95 / max` in milliseconds of the latencies measured (p95 the nearest rank), or `-`."""
    found = sorted(v for v in values if v is not None)
    if not found:
        return "-"
    p95 = found[math.ceil(0.95 * len(found)) - 1]
    return f"{statistics.median(found) * 1000:.0f} / {p95 * 1000:.0f} / {found[-1] * 1000:.0f} ms (n={len(found)})"


def signals_table(seen: list[Seen]) -> list[tuple[str, str, str]]:
    """(status, the rules that saw it with their signal kind, latency p50 / p95 / max) per status, in a fixed order."""
    rows = []
    for status in ("busy", "waiting", "idle", "stopped"):
        hits = [s for s in seen if s.status == status]
        if not hits:
            rows.append((status, "never seen", "-"))
            continue
        rules = sorted({f"{s.rule} ({s.signal})" for s in hits})
        rows.append((status, ", ".join(rules), latency_summary(s.latency for s in hits)))
    return rows


def render(report: Report) -> str:
    """The report as a person reads it after upgrading an agent."""
    lines = [f"conformance: {report.profile} {report.version}".rstrip(), ""]
    width = max([len(s.name) for s in report.steps] + [4])
    lines.append(f"{'step':<{width}}  result   detail")
    for step in report.steps:
        note = f" [{step.expected_failure}]" if step.expected_failure else ""
        optional = "" if step.required else " (optional)"
        lines.append(f"{step.name:<{width}}  {step.result:<7}  {step.detail}{optional}{note}")
    lines += ["", f"{'status':<8}  {'latency p50 / p95 / max':<34}  detected by"]
    for status, rules, latency in signals_table(report.seen):
        lines.append(f"{status:<8}  {latency:<34}  {rules}")
    lines += slowest(report.seen)
    lines += ["", f"model requests: {report.requests}"]
    return "\n".join(lines)


def slowest(seen: list[Seen]) -> list[str]:
    """The slowest detection of each status, with its step and reason: where a tail comes from."""
    lines = []
    for status in ("busy", "waiting", "idle"):
        timed = [s for s in seen if s.status == status and s.latency is not None]
        if timed:
            worst = max(timed, key=lambda s: s.latency)
            lines.append(f"slowest {status}: {worst.latency * 1000:.0f} ms in '{worst.step}': {worst.reason}")
    return ["", *lines] if lines else []


# --- The person's side: scratch directories, then the drive in their environment -------------------------------


def prepare(
    profile: str,
    *,
    use_installed: bool = True,
    install_missing: bool = False,
    keep: bool = False,
    as_json: bool = False,
) -> int:
    """Run the kit for `profile` in fresh scratch directories; the drive's output goes to stdout. Returns its exit
    status."""
    cli = CLIS.get(profile)
    if cli is None:
        raise KitError(f"the kit knows no CLI for profile {profile!r} (known: {', '.join(sorted(CLIS))})")
    if shutil.which("tmux") is None:
        raise KitError("tmux is not installed: the kit runs the agent in a private tmux server")
    try:
        executable = install(cli) if install_missing else cli.find(use_installed)
    except CliMissing as exc:
        raise KitError(str(exc)) from None
    runs = cache_dir() / "runs"
    runs.mkdir(parents=True, exist_ok=True)
    # Not under /tmp: Codex warns before its TUI when its home or TMPDIR is there.
    scratch = Path(tempfile.mkdtemp(prefix=f"{profile}-", dir=runs))
    command = [sys.executable, str(_manage_py()), "conformance", profile, "--drive", str(scratch)]
    if as_json:
        command.append("--json")
    if keep:
        print(f"conformance: scratch directory {scratch}", file=sys.stderr)
    # A SIGTERM (a CI timeout) still ends the drive, the agent's tmux server and the scratch directory.
    previous = signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    child = None
    try:
        child = subprocess.Popen(command, env=scratch_environment(scratch, executable))
        return child.wait()
    finally:
        if child is not None and child.poll() is None:
            child.terminate()
            child.wait(timeout=30)
        _end_tmux(scratch)
        signal.signal(signal.SIGTERM, previous)
        if not keep:
            shutil.rmtree(scratch, ignore_errors=True)


def install_pinned(profile: str) -> Path:
    """The pinned CLI of `profile`, installed into the cache if it is not there yet."""
    cli = CLIS.get(profile)
    if cli is None:
        raise KitError(f"the kit knows no CLI for profile {profile!r} (known: {', '.join(sorted(CLIS))})")
    try:
        return install(cli)
    except CliMissing as exc:
        raise KitError(str(exc)) from None


def scratch_environment(scratch: Path, executable: Path) -> dict[str, str]:
    """The drive's environment: every Chorus and agent location inside `scratch`, the CLI first on PATH."""
    for part in ("home", "project", "data"):
        (scratch / part).mkdir(parents=True, exist_ok=True)
    keep = {k: v for k, v in os.environ.items() if k in ("PATH", "LANG", "LC_ALL", "TERM", "USER", "LOGNAME", "SHELL")}
    return {
        **keep,
        "PATH": f"{executable.parent}{os.pathsep}{keep.get('PATH', os.defpath)}",
        "HOME": str(scratch / "home"),
        "PROJECT_ROOT": str(scratch / "project"),
        "CHORUS_DATA_DIR": str(scratch / "data"),
        "CHORUS_TMUX_SOCKET": str(scratch / "tmux.sock"),
        "CHORUS_NOTIFY": "off",
        "CHORUS_LIMIT_MARGIN": str(LIMIT_MARGIN),
        # Chorus's web server, for the agent's MCP calls (CHORUS_MCP_URL follows from it).
        "CHORUS_HOST": "127.0.0.1",
        "PORT": str(_free_port()),
        "CHORUS_AGENT_CLIS": str(cache_dir()),
        "DJANGO_SETTINGS_MODULE": "chorus_site.settings",
        "LANG": keep.get("LANG") or "C.UTF-8",
        "TERM": "xterm-256color",
        # tmux runs a one-word command through its default shell; dash does not exec it, so the pane's foreground
        # command would stay `sh` (read as the agent gone). bash and zsh exec it.
        "SHELL": keep.get("SHELL") if keep.get("SHELL", "").endswith(("bash", "zsh")) else _bash(),
    }


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _wait_for_port(port: int, server: subprocess.Popen, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and server.poll() is None:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.1)
    raise KitError(f"Chorus's web server did not listen on port {port} (its log: worker.log in the scratch directory)")


def _bash() -> str:
    return shutil.which("bash") or "/bin/bash"


def _manage_py() -> Path:
    return Path(__file__).resolve().parent.parent.parent / "manage.py"


def _end_tmux(scratch: Path) -> None:
    socket = scratch / "tmux.sock"
    if socket.exists():
        subprocess.run(["tmux", "-S", str(socket), "kill-server"], capture_output=True, check=False)


# --- The drive: inside the scratch environment -------------------------------------------------------------------


# the session as the kit's watcher asks LimitWatch about it: no limit recorded before
WATCHED = SimpleNamespace(name=SESSION, limit_text="", limit_until=None)


class Watcher:
    """The kit's own look at the pane every WATCH_SECONDS, with the profile's rules and self-report reader, in a
    thread: when each status first showed, the reference Chorus's detection latency is measured from."""

    def __init__(self, profile, pane_id: str, pane_pid: int):
        from sessions_app import tmux

        self.profile = profile
        self.pane_id = pane_id
        self.pane_pid = pane_pid
        self.tmux = tmux.configured()
        self.reader = profile.self_report.reader() if profile.self_report is not None else None
        # a usage limit on screen is read as the worker reads it (waiting until the reset), so its end is no latency
        self.limits = LimitWatch(datetime.timedelta(seconds=LIMIT_MARGIN), datetime.datetime.now().astimezone().tzinfo)
        self.shown: list[tuple[str, float]] = []
        # when it began and ended looking: a status Chorus recorded outside them has nothing to be measured from
        self.started = self.ended = math.inf
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, name="kit-watcher", daemon=True)

    def __enter__(self) -> Watcher:
        self._thread.start()
        return self

    def __exit__(self, *_exc) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def _watch(self) -> None:
        from django.db import connection

        try:
            self._look_until_stopped()
        finally:
            self.ended = time.time()
            connection.close()

    def _look_until_stopped(self) -> None:
        from sessions_app import selectors
        from sessions_app.detection import Observation, detect
        from sessions_app.tmux import TmuxError
        from sessions_app.worker import question_signal

        self.started = time.time()
        while not self._stop.is_set():
            at = time.time()
            # what the agent asked through its tools is waiting on Chorus's side: the kit sees it too
            asked = selectors.open_questions().get(SESSION)
            signal = question_signal(asked) if asked else None
            try:
                panes, screens = self.tmux.poll([self.pane_id])
            except TmuxError:
                break
            pane = next((p for p in panes if p.pane_id == self.pane_id), None)
            if pane is None or self.pane_id not in screens:
                break
            report = None
            if self.reader is not None:
                self.reader.refresh({self.pane_pid})
                report = self.reader.report(self.pane_pid)
            observation = Observation(
                screen=screens[self.pane_id].text,
                pane_title=pane.title,
                pane_current_command=pane.current_command,
                pane_dead=pane.dead,
                agent_self_report=report,
                agent_signal=signal,
            )
            verdict = detect(self.profile, observation)
            status = self.limits.overrule(WATCHED, self.profile, observation.screen, verdict).status.value
            if not self.shown or self.shown[-1][0] != status:
                self.shown.append((status, at))
            self._stop.wait(WATCH_SECONDS)

    def first_shown(self, status: str, before: float) -> float | None:
        """When `status` began to show in the run of it that was on at `before`."""
        start = None
        for shown, at in self.shown:
            if at > before:
                break
            start = at if shown == status else None
        return start


class Drive:
    """Walks the steps for one CLI. Chorus's services do what a person would (start, send, keys, kill); the worker
    process, as in production, watches and delivers; the events it appends are what the steps check."""

    def __init__(self, cli: Cli, scratch: Path):
        self.cli = cli
        self.scratch = scratch
        self.report = Report(cli.profile)
        self.position = 0
        self.unread: list[Seen] = []
        self.processes: list[subprocess.Popen] = []
        self.standin: StandIn | None = None

    # plumbing

    def run(self) -> Report:
        from django.core.management import call_command

        call_command("migrate", verbosity=0, interactive=False)
        with StandIn(self.cli.vendor()) as standin:
            self.standin = standin
            home, project = Path(os.environ["HOME"]), Path(os.environ["PROJECT_ROOT"])
            # The tmux server, started by the first session, hands these to every pane.
            os.environ.update(self.cli.prepare(home, project, standin.url))
            self.report.version = self.cli.version_of(Path(shutil.which(self.cli.binary) or self.cli.binary))
            log = open(self.scratch / "worker.log", "w")  # noqa: SIM115  -- open for the processes' whole life
            port = os.environ["PORT"]
            server = [sys.executable, "-m", "chorus_site.webserver", "-b", "127.0.0.1", "-p", port]
            self.processes = [
                subprocess.Popen([sys.executable, str(_manage_py()), "run_worker"], stdout=log, stderr=log),
                subprocess.Popen([*server, "chorus_site.asgi:application"], stdout=log, stderr=log),
            ]
            try:
                # An agent connects to Chorus's MCP server as it starts: the server must be listening first.
                _wait_for_port(int(port), self.processes[1])
                self.steps()
            finally:
                for process in self.processes:
                    process.terminate()
                for process in self.processes:
                    try:
                        process.wait(timeout=15)
                    except subprocess.TimeoutExpired:
                        process.kill()
                log.close()
            requests = standin.model_requests()
            self.report.requests = len(requests)
            # Every model request, for a person reading a failed run (--keep).
            log_path = self.scratch / "requests.json"
            log_path.write_text(json.dumps([dataclasses.asdict(r) for r in requests], indent=1), encoding="utf-8")
        return self.report

    def events(self) -> list:
        from events_app import store

        found = list(store.read(after=self.position))
        if found:
            self.position = found[-1].position
        return found

    def status_changes(self, recorded: list) -> list[Seen]:
        seen = []
        for item in recorded:
            if item.stream_id != SESSION or item.event_type not in (
                "SessionStatusChanged",
                "SessionStopped",
                "SessionKilled",
            ):
                continue
            event = item.event
            at = item.recorded_at.timestamp()
            if item.event_type == "SessionKilled":
                seen.append(Seen("stopped", at, "killed", "service", "killed by the kit"))
            elif item.event_type == "SessionStopped":
                seen.append(Seen("stopped", at, "stopped", "", event.reason))
            else:
                seen.append(Seen(event.to_status, at, event.rule, event.signal, event.reason))
        return seen

    def next_changes(self) -> list[Seen]:
        """Status changes not yet consumed: those a `wait_for` read past its match, then the newly recorded ones."""
        changes, self.unread = self.unread + self.status_changes(self.events()), []
        return changes

    def record(self, seen: Seen) -> None:
        """Keep a status Chorus recorded, with the step under way."""
        seen.step = self.report.steps[-1].name if self.report.steps else ""
        self.report.seen.append(seen)

    def wait_for(self, statuses: set[str], timeout: float = STATUS_TIMEOUT, record: bool = True) -> Seen | None:
        """The first status change to one of `statuses` from now on (all changes on the way are recorded); the
        changes read with it in the same batch stay unread for the next wait (a quick turn records busy and idle
        between two polls)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            changes = self.next_changes()
            for index, seen in enumerate(changes):
                if record:
                    self.record(seen)
                if seen.status in statuses:
                    self.unread = changes[index + 1 :]
                    return seen
            time.sleep(0.05)
        return None

    def waiting_reason(self, first: str, timeout: float = 2.0) -> str:
        """The session's waiting reason once it quotes the dialog: an agent may say it waits before it draws the
        dialog, and the reason is explained when the dialog shows (SessionWaitingExplained)."""
        deadline = time.monotonic() + timeout
        said = first
        while not quotes_a_dialog(said) and time.monotonic() < deadline:
            time.sleep(0.05)
            current = self.session()
            if current.status != "waiting":
                break
            said = current.status_reason
        return said

    def settle(self, text: str | None = None, timeout: float = STATUS_TIMEOUT) -> Seen | None:
        """Wait until the model got `text` (when given), no model request is in flight and Chorus shows the session
        idle; the idle seen on the way, if it changed to idle at all (a quick turn may never have looked busy)."""
        deadline = time.monotonic() + timeout
        last = None
        while time.monotonic() < deadline:
            for seen in self.next_changes():
                self.record(seen)
                last = seen if seen.status == "idle" else None
            asked = text is None or bool(self.requests_for(text))
            quiet = all(r.finished_at for r in self.standin.model_requests())
            if asked and quiet and self.session().status == "idle":
                # the idle may have been committed after the events above were read
                for seen in self.next_changes():
                    self.record(seen)
                    last = seen if seen.status == "idle" else last
                return last
            time.sleep(0.05)
        return last

    def message_state(self, message_id: str) -> str:
        from sessions_app.models import OutboxMessage

        message = OutboxMessage.objects.filter(pk=message_id).first()
        return message.state if message else "missing"

    def wait_message(self, message_id: str, timeout: float = STATUS_TIMEOUT) -> str:
        deadline = time.monotonic() + timeout
        state = self.message_state(message_id)
        while state in ("queued", "delivering") and time.monotonic() < deadline:
            time.sleep(0.1)
            state = self.message_state(message_id)
        return state

    def send(self, text: str) -> str:
        from events_app.store import event_context
        from sessions_app import services

        with event_context(actor="conformance kit", source="cli"):
            return services.session_send(SESSION, text).id

    def clear_input(self) -> None:
        """What a person does on the session page: Clear input (the profile's clear keys)."""
        from events_app.store import event_context
        from sessions_app import services

        with event_context(actor="conformance kit", source="cli"):
            services.session_clear_input(SESSION)

    def keys(self, *keys: str) -> None:
        from events_app.store import event_context
        from sessions_app import services

        with event_context(actor="conformance kit", source="cli"):
            services.session_send_keys(SESSION, list(keys))

    def save_screen(self, name: str) -> str:
        """The session's screen now, into the scratch directory (kept with --keep); its path, or why not."""
        from sessions_app import tmux

        try:
            text = tmux.configured().capture(self.session().pane_id).text
        except tmux.TmuxError as exc:
            return f"unreadable ({exc})"
        path = self.scratch / f"{name}-screen.txt"
        path.write_text(text, encoding="utf-8")
        return str(path)

    def answer(self) -> None:
        """Choose the dialog's highlighted first option with Enter, once the dialog is drawn: a self-report may say
        waiting before the screen shows it, and a TUI may drop a key that comes as its dialog opens."""
        self.screen_shows(lambda screen: bool(self.profile().dialog_options(screen)))
        time.sleep(ANSWER_PAUSE)
        self.keys("Enter")

    def profile(self):
        from sessions_app import selectors

        return selectors.profile(self.cli.profile)

    def screen_shows(self, wanted: Callable[[str], bool], timeout: float = 5.0) -> bool:
        from sessions_app import tmux

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if wanted(tmux.configured().capture(self.session().pane_id).text):
                return True
            time.sleep(0.1)
        return False

    def session(self):
        from sessions_app.models import Session

        return Session.objects.get(pk=SESSION)

    def requests_for(self, text: str) -> list[ModelRequest]:
        wanted = " ".join(text.split())
        return [r for r in self.standin.model_requests() if r.fresh and " ".join(r.prompt.split()) == wanted]

    def exactly_once(self, step: Step, text: str) -> bool:
        count = len(self.requests_for(text))
        if count != 1:
            step.ok, step.detail = False, f"the model got {text!r} {count} times"
            return False
        return True

    # the steps

    def steps(self) -> None:
        if not self.step_start():
            return
        session = self.session()
        with Watcher(self.profile(), session.pane_id, session.pid) as watcher:
            self.step_draft()
            self.step_prompt()
            self.step_permission()
            self.step_claimed_edit()
            self.step_queued()
            self.step_multiline()
            self.step_question()
            self.step_mcp()
            self.step_usage()
        # The restart makes a new pane: the limit comes after it, so the resumed conversation is a clean one (not
        # one whose last prompt is still refused) and the limit is watched on the new pane.
        self.step_resume()
        session = self.session()
        with Watcher(self.profile(), session.pane_id, session.pid) as second:
            self.step_usage_limit()
        self.step_stop()
        for looked in (watcher, second):
            measure(self.report.seen, looked.shown, window=(looked.started, looked.ended))

    def step_start(self) -> bool:
        from events_app.store import event_context
        from sessions_app import services

        step = self.report.step("start -> idle")
        begun = time.time()
        with event_context(actor="conformance kit", source="cli"):
            services.session_create(SESSION, profile=self.cli.profile, tools="self")
        before: list[str] = []
        deadline = time.monotonic() + STATUS_TIMEOUT
        idle = None
        while idle is None and time.monotonic() < deadline:
            seen = self.wait_for({"idle", "waiting", "stopped"}, timeout=deadline - time.monotonic())
            before = [s.status for s in self.report.seen]
            if seen is None or seen.status in ("waiting", "stopped"):
                break
            idle = seen
        if idle is None:
            last = self.report.seen[-1].reason if self.report.seen else "no status recorded"
            step.ok, step.detail = False, f"never idle after start (seen: {' -> '.join(before) or 'nothing'}; {last})"
            step.detail += f"; its screen: {self.save_screen('start')}"
            return False
        step.ok, step.detail = True, f"idle after {idle.at - begun:.1f}s by {idle.rule}"
        calm = self.report.step("no false busy at start")
        calm.ok = "busy" not in before
        calm.detail = "statuses at start: " + " -> ".join(before)
        return True

    def step_draft(self) -> None:
        step = self.report.step("a person's draft left alone")
        self.keys("1", "2", "3")
        # The message comes after the person typed, as it would: once the agent has drawn the draft.
        if not self.screen_shows(lambda screen: self.profile().draft(screen) == "123"):
            step.ok, step.detail = False, f"the profile never read the draft 123 (screen {self.save_screen('draft')})"
            self.keys("BSpace", "BSpace", "BSpace")
            return
        text = "kit:short after the draft"
        message = self.send(text)
        time.sleep(DRAFT_HOLD_SECONDS)
        state = self.message_state(message)
        typed_over = [r.prompt for r in self.standin.model_requests() if r.fresh and r.prompt.endswith(text)]
        if state != "queued" or typed_over:
            screen = self.save_screen("draft")
            self.wait_message(message)
            self.settle()
            got = [r.prompt for r in self.standin.model_requests() if r.fresh and text in r.prompt]
            step.ok = False
            step.detail = f"the message was {state} while 123 sat in the input; the model got {got!r}; screen {screen}"
            return
        self.clear_input()
        state = self.wait_message(message)
        self.settle(text)
        if state != "delivered" or not self.exactly_once(step, text):
            step.ok = False
            step.detail = step.detail or f"after the draft was cleared the message was {state}"
            return
        step.ok, step.detail = (
            True,
            f"queued for {DRAFT_HOLD_SECONDS:.0f}s while the input held 123, delivered once after Clear input",
        )

    def step_prompt(self) -> None:
        step = self.report.step("idle -> busy -> idle (one request)")
        text = "kit:short hello from the kit"
        message = self.send(text)
        busy = self.wait_for({"busy"})
        state = self.wait_message(message)
        idle = self.settle(text)
        if state != "delivered" or busy is None or idle is None:
            step.ok, step.detail = (
                False,
                f"message {state}; busy {'seen' if busy else 'not seen'}; idle {'seen' if idle else 'not seen'}",
            )
            return
        if self.exactly_once(step, text):
            step.ok, step.detail = True, f"delivered ({self._confirmation(message)})"

    def step_permission(self) -> None:
        step = self.report.step("busy -> waiting -> answered -> busy -> idle")
        reason = self.report.step("waiting reason quotes the dialog")
        text = "kit:permission write a file"
        message = self.send(text)
        waiting = self.wait_for({"waiting"})
        if waiting is None:
            step.ok, step.detail = False, "no waiting for the permission dialog"
            reason.ok = None
            self.settle()
            return
        said = self.waiting_reason(waiting.reason)
        reason.ok = quotes_a_dialog(said)
        reason.detail = said[:150]
        self.answer()
        again = self.wait_for({"busy"})
        idle = self.settle()
        written = (Path(os.environ["PROJECT_ROOT"]) / "kit-permission.txt").exists()
        if self.message_state(message) != "delivered" or again is None or idle is None or not written:
            step.ok = False
            step.detail = (
                f"message {self.message_state(message)}; busy after answering {'seen' if again else 'not seen'}; "
                f"idle {'seen' if idle else 'not seen'}; the tool {'ran' if written else 'did not run'}"
            )
            return
        if self.exactly_once(step, text):
            step.ok, step.detail = True, f"waiting by {waiting.rule}; answered with Enter; the tool ran"

    def step_claimed_edit(self) -> None:
        """Another task holds a claim on a file; the agent's own file tool is asked to change it. A CLI whose hook
        asks Chorus first is refused before the edit, reads who holds the file, and the attempt is recorded."""
        from events_app import store
        from events_app.store import event_context
        from sessions_app import services

        step = self.report.step("an edit under another task's claim is refused", required=self.cli.guards_edits)
        if not self.cli.guards_edits:
            step.detail = "no pre-edit hook: an edit under a claim is found from git after the fact"
            return
        target = Path(os.environ["PROJECT_ROOT"]) / CLAIMED_FILE
        before = self.position
        holder = self.hold_claim(CLAIMED_FILE)
        text = "kit:edit change the claimed file"
        message = self.send(text)
        self.wait_message(message)
        told = self.tool_results("edit")
        if not told and self.session().status == "waiting":
            self.keys("Escape")  # the edit was not refused: Claude asks the person instead; say no
        self.settle(text)
        denied = [e for e in store.read(after=before, event_types=["EditDenied"]) if e.stream_id == SESSION]
        read = told[-1] if told else ""
        step.ok = f"task {holder}" in read and not target.exists() and bool(denied)
        step.detail = (
            f"refused before the edit; the agent read {read[:100]!r}"
            if step.ok
            else f"the file {'was' if target.exists() else 'was not'} written; the agent read {read[:100]!r}; "
            f"{len(denied)} EditDenied recorded"
        )
        with event_context(actor="conformance kit", source="cli"):
            services.session_kill(HOLDER)

    def tool_results(self, script: str, timeout: float = STATUS_TIMEOUT) -> list[str]:
        """What the CLI told the model its tool did in the turns of `script`, once it has (a hook runs between the
        model's tool call and that answer, so the turn is not over when the model's first answer is)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            told = [r.tool_result for r in self.standin.model_requests() if r.script == script and not r.fresh]
            if told or self.session().status == "waiting":
                return told
            time.sleep(0.1)
        return []

    def hold_claim(self, path: str) -> int:
        """A task claiming `path`, at work in a second session (a program that echoes what it is given), made
        through Chorus's command line as a person would: the number of that task."""
        project = Path(os.environ["PROJECT_ROOT"])
        holder = f'[profiles.{HOLDER}]\ncommand = ["cat"]\nagent = true\nprocess_names = ["cat"]\n'
        (project / "chorus.toml").write_text(holder, encoding="utf-8")

        def manage(*argv: str) -> dict:
            done = subprocess.run(
                [sys.executable, str(_manage_py()), *argv, "--json"], capture_output=True, text=True, check=True
            )
            return json.loads(done.stdout)

        manage("sessions", "new", HOLDER, "--profile", HOLDER)
        task = manage("tasks", "add", "Hold the kit's file", "--claim", path)["id"]
        manage("tasks", "assign", str(task), HOLDER)
        return task

    def step_queued(self) -> None:
        step = self.report.step("a message queued while busy")
        first, second = "kit:slow tell a long story", "kit:short the queued one"
        one = self.send(first)
        if self.wait_for({"busy"}) is None:
            step.ok, step.detail = False, f"never busy with {first!r}"
            self.settle(first)
            return
        two = self.send(second)
        time.sleep(1.0)
        early = self.message_state(two)
        self.wait_message(one)
        self.wait_for({"idle"}, timeout=60)
        state = self.wait_message(two)
        self.settle(second)
        if early != "queued" or state != "delivered":
            step.ok, step.detail = False, f"the second message was {early} while busy, then {state}"
            return
        if self.exactly_once(step, first) and self.exactly_once(step, second):
            step.ok, step.detail = True, "held while busy, delivered after, each once"

    def step_multiline(self) -> None:
        step = self.report.step("a multi-line prompt")
        text = "kit:short first line\nsecond line\nthird line"
        message = self.send(text)
        state = self.wait_message(message)
        self.settle(text)
        if state != "delivered":
            step.ok, step.detail = False, f"message {state}"
            return
        if self.exactly_once(step, text):
            step.ok, step.detail = True, f"three lines arrived as one prompt ({self._confirmation(message)})"

    def step_question(self) -> None:
        step = self.report.step("a question to the user", required=False)
        if self.cli.no_questions:
            step.detail = self.cli.no_questions
            return
        text = "kit:question pick a colour"
        message = self.send(text)
        waiting = self.wait_for({"waiting"})
        if waiting is None:
            step.ok, step.detail = False, f"no waiting for the question (message {self.message_state(message)})"
            self.settle()
            return
        self.answer()
        self.settle()
        step.ok = self.session().status == "idle"
        step.detail = f"waiting by {waiting.rule}: {waiting.reason[:100]}"

    def step_mcp(self) -> None:
        from sessions_app.models import AgentCall

        step = self.report.step("a call to Chorus's MCP tool", required=False)
        text = "kit:mcp who am I"
        message = self.send(text)
        self.wait_message(message)
        deadline = time.monotonic() + MCP_TIMEOUT
        answered = 0
        called = False
        # The CLI may ask before it calls a tool of an MCP server: a dialog is answered like a person would.
        while not called and time.monotonic() < deadline:
            if self.session().status == "waiting" and answered < 2:
                answered += 1
                self.answer()
            time.sleep(0.2)
            called = AgentCall.objects.filter(session=SESSION, tool="whoami").exists()
        self.settle(text)
        step.ok = called
        asked = f", after answering {answered} dialog(s)" if answered else ""
        step.detail = f"whoami {'reached' if called else 'did not reach'} Chorus{asked}"

    def step_usage_limit(self) -> None:
        """The stand-in refuses the prompt with its vendor's usage-limit answer, resetting at a whole minute about a
        minute ahead. Chorus must show waiting `usage limit until HH:MM` with that reset (or the CLI's words when it
        shows none) and at the reset the conversation must go on exactly once: by Chorus's continue message, typed
        once and taken by the CLI, or by the CLI itself with no message from Chorus."""
        from events_app import store
        from sessions_app.limits import LimitSeen, reason

        step = self.report.step("a usage limit parks the session until its reset")
        resumed = self.report.step("at the reset the conversation goes on once")
        text = "kit:limit one more"
        before = self.position
        message = self.send(text)
        self.wait_message(message)
        waiting = self.wait_for({"waiting"}, timeout=LIMIT_TIMEOUT)
        resets = self.standin.limit_resets_at
        limits = [e for e in store.read(after=before, event_types=["UsageLimitReached"]) if e.stream_id == SESSION]
        asked = len(self.requests_for(text))
        zone = datetime.datetime.now().astimezone().tzinfo
        until = datetime.datetime.fromtimestamp(resets, datetime.UTC) if resets else None
        if self.cli.limit_resume == "unreadable":
            expected = "usage limit: "
            ok = waiting is not None and waiting.reason.startswith(expected) and bool(limits)
        else:
            expected = reason(LimitSeen("", "", until), zone, datetime.datetime.now(datetime.UTC)) if until else "?"
            reset_at = limits[-1].event.reset_at if limits else ""
            ok = waiting is not None and waiting.reason == expected and reset_at == (until.isoformat() if until else "")
        step.ok = ok
        step.detail = (
            f"waiting by {waiting.rule}: {waiting.reason[:90]} (the model was asked {asked} time(s))"
            if ok
            else f"expected {expected!r}; seen {waiting.reason[:90] if waiting else 'no waiting'!r}; "
            f"{len(limits)} UsageLimitReached; screen {self.save_screen('limit')}"
        )
        if not ok:
            resumed.ok = None
            return
        if self.cli.limit_resume == "unreadable":
            resumed.ok, resumed.detail = None, "the CLI shows no reset: Chorus schedules nothing (design.md 5f.3)"
            return
        self.after_reset(resumed, resets, before)

    def after_reset(self, step: Step, resets: int, before: int) -> None:
        """After the reset: one model request of the conversation (the continue message once, or the CLI's own)."""
        from django.conf import settings

        from events_app import store

        continue_text = settings.CHORUS_CONTINUE_MESSAGE
        deadline = time.monotonic() + max(0.0, resets - time.time()) + AFTER_RESET_TIMEOUT
        later: list[ModelRequest] = []
        while time.monotonic() < deadline:
            later = [r for r in self.standin.model_requests() if r.fresh and r.at >= resets and r.streamed]
            if later and all(r.finished_at for r in self.standin.model_requests()):
                break
            time.sleep(0.2)
        self.settle(timeout=20)
        sent = [e for e in store.read(after=before, event_types=["ResumeSent"]) if e.stream_id == SESSION]
        prompts = [r.prompt[-60:] for r in later]
        if self.cli.limit_resume == "itself":
            step.ok = len(later) == 1 and not sent
            step.detail = (
                f"the CLI went on by itself {later[0].at - resets:.0f}s after the reset; Chorus typed nothing"
                if step.ok
                else f"{len(later)} request(s) after the reset ({prompts}); {len(sent)} ResumeSent"
            )
            return
        typed = len(self.requests_for(continue_text))
        step.ok = len(sent) == 1 and typed == 1 and len(later) == 1
        step.detail = (
            f"{continue_text!r} queued once {sent[0].recorded_at.timestamp() - resets:.0f}s after the reset and "
            f"taken ({self.session().status})"
            if step.ok
            else f"{len(sent)} ResumeSent; the model got {continue_text!r} {typed} time(s); requests after the reset: "
            f"{prompts}"
        )

    def step_usage(self) -> None:
        """Chorus's usage reader, reading the CLI's own records (Claude Code's transcript, Codex's rollout, Gemini
        CLI's chat recording), must record the tokens the stand-in reported for every answer it streamed."""
        from events_app import store

        step = self.report.step("usage recorded as the model reported it")
        answers = [r for r in self.standin.model_requests() if r.streamed and r.script != "side"]
        wanted = (len(answers) * self.standin.vendor.usage[0], len(answers) * self.standin.vendor.usage[1])
        deadline = time.monotonic() + USAGE_TIMEOUT
        recorded = (0, 0)
        while time.monotonic() < deadline:
            totals = [0, 0]
            for item in store.read(stream_type="usage", stream_id=SESSION, event_types=["UsageRecorded"]):
                for counts in item.event.models.values():
                    totals[0] += counts.get("input", 0) + counts.get("cache_read", 0) + counts.get("cache_write", 0)
                    totals[1] += counts.get("output", 0)
            recorded = tuple(totals)
            if recorded == wanted:
                break
            time.sleep(0.5)
        step.ok = recorded == wanted
        step.detail = f"{len(answers)} answers: input, output {recorded} recorded; the stand-in reported {wanted}"

    def step_resume(self) -> None:
        """Restart with resume (`sessions restart kit --resume`): the CLI must start again on the conversation it
        had, so the stand-in finds the earlier turns in the next prompt's request (a resume picker, if the CLI
        showed one, is answered by the profile's rules as any dialog)."""
        from events_app.store import event_context
        from sessions_app import services
        from sessions_app.errors import SessionError

        step = self.report.step("a restart resumes the conversation")
        earlier = "kit:short hello from the kit"
        try:
            with event_context(actor="conformance kit", source="cli"):
                services.session_restart(SESSION, resume=True)
        except SessionError as exc:
            step.ok, step.detail = False, f"restart refused: {exc}"
            return
        restarted = self.session()
        idle = self.wait_for({"idle"}, timeout=STATUS_TIMEOUT)
        if idle is None:
            step.ok, step.detail = False, f"never idle after the restart; screen {self.save_screen('resume')}"
            return
        text = "kit:short after the restart"
        message = self.send(text)
        self.wait_message(message)
        self.settle(text)
        asked = self.requests_for(text)
        bodies = [self.standin.body_of(request) for request in asked]
        step.ok = len(asked) == 1 and earlier in bodies[0]
        step.detail = (
            f"conversation {restarted.conversation[:12]} resumed: the request after it held the earlier turns "
            f"({self._confirmation(message)})"
            if step.ok
            else f"the model got {text!r} {len(asked)} time(s); the earlier prompt "
            f"{'was' if bodies and earlier in bodies[0] else 'was not'} in it; screen {self.save_screen('resume')}"
        )

    def step_stop(self) -> None:
        from events_app.store import event_context
        from sessions_app import services

        step = self.report.step("kill leaves no process")
        pid = self.session().pid
        tree = (
            [pid, *(p.pid for p in psutil.Process(pid).children(recursive=True))]
            if pid and psutil.pid_exists(pid)
            else []
        )
        with event_context(actor="conformance kit", source="cli"):
            killed = services.session_kill(SESSION)
        stopped = self.wait_for({"stopped"}, timeout=10)
        project = os.environ["PROJECT_ROOT"]
        alive = [pid for pid in tree if _alive(pid)]
        alive += [p.pid for p in _processes_in(project) if p.pid not in alive]
        if alive or stopped is None:
            step.ok = False
            step.detail = f"processes left: {sorted(alive)}" if alive else "the kill was not recorded"
            return
        step.ok, step.detail = True, f"{len(tree)} processes ended; the session is {killed.lifecycle}"

    # measurements

    def _confirmation(self, message_id: str) -> str:
        from events_app import store

        for item in store.read(stream_type="message", stream_id=message_id, event_types=("PromptDelivered",)):
            return f"confirmed by {item.event.confirmed_by}"
        return "no confirmation"


def measure(
    seen: list[Seen], shown: list[tuple[str, float]], slack: float = 2 * WATCH_SECONDS, window: tuple = (0, math.inf)
) -> None:
    """Each status Chorus recorded while the kit looked (within `window`) gets its latency: from when the kit's own
    look first showed it (the last time it turned to that status, up to `slack` after Chorus recorded it, since the
    looks are WATCH_SECONDS apart); zero when Chorus was first (an agent's self-report comes before its screen)."""
    for item in seen:
        if item.status == "stopped" or not window[0] <= item.at <= window[1]:
            continue
        starts = [at for status, at in shown if status == item.status and at <= item.at + slack]
        if starts:
            item.latency = max(0.0, item.at - starts[-1])


def _alive(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def _processes_in(directory: str) -> list[psutil.Process]:
    """Processes whose working directory is inside `directory`: an agent's leftovers."""
    found = []
    for process in psutil.process_iter(["cwd"]):
        cwd = process.info.get("cwd") or ""
        if cwd == directory or cwd.startswith(directory + os.sep):
            found.append(process)
    return found


def drive(profile: str, scratch: Path) -> Report:
    cli = CLIS.get(profile)
    if cli is None:
        raise KitError(f"the kit knows no CLI for profile {profile!r}")
    # Ended from outside (the command above on a timeout), it still stops its worker.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    return Drive(cli, scratch).run()
