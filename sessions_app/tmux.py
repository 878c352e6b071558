"""The tmux adapter: the only code in Chorus that runs tmux.

A `Tmux` talks to one server (the user's default, or a private socket) and packs many commands into one tmux
invocation where it can. Building those commands and reading what tmux prints are pure functions, tested
without tmux; the class only runs them.
"""

import contextlib
import functools
import os
import re
import secrets
import select
import shlex
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass

import psutil
from django.conf import settings

from events_app.errors import ReadOnly

INSTALL_HINT = "apt-get install tmux / brew install tmux"
TAG_OPTION = "@chorus_session"
# Part of the field and record delimiters of list-panes output (see pane_format) and of capture markers.
SEPARATOR = "\x1f"
# The client sends a whole invocation to the server in one message of at most 16 KiB ("command too long").
LITERAL_CHUNK_CHARS = 2048
CAPTURE_BATCH = 64
# how long new-session waits, try after try, for a server that is exiting to be gone
SERVER_EXIT_PAUSES = (0.02, 0.05, 0.1, 0.2)
# The tmux commands that only look. While Chorus runs read-only (CHORUS_READ_ONLY) no other command runs, in any
# process: nothing is typed, started, killed or tagged, whatever code path asks.
LOOKING = frozenset({"list-panes", "display-message", "capture-pane", "has-session"})

ALLOWED_KEYS = frozenset(
    {
        "Enter",
        "Escape",
        "Up",
        "Down",
        "Left",
        "Right",
        "Home",
        "End",
        "PageUp",
        "PageDown",
        "Tab",
        "BTab",
        "Space",
        "BSpace",
        "C-c",
        "C-d",
        "y",
        "n",
        *"0123456789",
    }
)

# tmux itself turns ":" and "." into "_" (so a target built from the name would miss); ";" would end a command.
SESSION_NAME = re.compile("[^\x00-\x1f\x7f-\x9f:.;]+")
PANE_ID = re.compile(r"%[0-9]+")
# C0 (TAB, LF, CR and ESC included), DEL and C1 (U+009B is a one-character CSI to some terminal parsers).
CONTROL_CHARACTERS = re.compile("[\x00-\x1f\x7f-\x9f]")
# The same, but TAB and LF survive: a bracketed paste carries them as text.
PASTE_CONTROL_CHARACTERS = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")
# "server exited unexpectedly": the socket still existed but the server was gone or going (just killed)
NO_SERVER = re.compile(
    r"^(no server running on |server exited unexpectedly|lost server"
    r"|error connecting to .*\((No such file or directory|Connection refused)\))",
    re.MULTILINE,
)
# A server that stays up with no session (`set -g exit-empty off`) answers this to any command that names or
# needs a target, `list-panes -a` and `has-session -t =NAME` included.
NO_SESSIONS = re.compile(r"^no current target$", re.MULTILINE)
TARGET_GONE = re.compile(r"^(can't find (pane|session|window)|no such (pane|session|window)): ", re.MULTILINE)
DUPLICATE_SESSION = re.compile(r"^duplicate session: ", re.MULTILINE)
# A session's environment reaches its program through this launcher, never through tmux's arguments: the tmux
# server is a fork of the client that started it and keeps that client's command line (`new-session -e KEY=...`)
# for its whole life, for every local user's `ps` to read. $1 is a file of `export` lines (mode 0600) that the
# launcher reads and removes; the rest is the program's argv (none: the shell, which tmux puts in $SHELL).
ENVIRONMENT_LAUNCHER = 'f="$1"; shift; . "$f"; rm -f -- "$f"; [ "$#" -gt 0 ] || set -- "${SHELL:-/bin/sh}"; exec "$@"'
# The launcher's $0: what `ps` shows for it until it execs the program.
ENVIRONMENT_LAUNCHER_NAME = "chorus-env"
VARIABLE_NAME = re.compile("[A-Za-z_][A-Za-z0-9_]*")


class TmuxError(Exception):
    """tmux refused or failed; the message is tmux's own."""


class TmuxMissing(TmuxError):
    """There is no tmux binary to run."""


class PaneGone(TmuxError):
    """The pane or session named does not exist (any more)."""


class NoPanes(PaneGone):
    """The server has no pane at all, so none exists that was named: it does not run (NoServer), or it runs
    without a session (NoSessions)."""


class NoServer(NoPanes):
    """No tmux server listens on the socket, so no pane or session exists there."""


class NoSessions(NoPanes):
    """The server runs but holds no session (a user's tmux.conf may keep it up with `exit-empty off`)."""


class SessionExists(TmuxError):
    """new_session was given a name that a session already has."""


class KeyNotAllowed(ValueError):
    """send_keys was asked for a key outside ALLOWED_KEYS."""


@dataclass(frozen=True)
class PaneInfo:
    """One pane as `list-panes` describes it."""

    session_name: str
    window_index: int
    pane_id: str
    pid: int
    current_command: str
    current_path: str
    dead: bool
    dead_status: int | None
    dead_signal: int | None
    title: str
    alternate_on: bool
    cursor_x: int
    cursor_y: int
    history_size: int
    width: int
    height: int
    in_mode: bool
    # `window_activity`: when the window last had output, in whole seconds; Chorus panes are alone in theirs.
    activity: int
    tag: str | None


@dataclass(frozen=True)
class PaneScreen:
    """What a pane showed: `capture-pane -p` output (every visible row, each ending in a newline), with the
    facts needs_capture() compares, read in the same tmux invocation as the text."""

    pane_id: str
    text: str
    activity: int
    dead: bool
    width: int
    height: int
    # time.time() just before the capture was asked for
    taken_at: float


PANE_FIELDS = (
    "#{session_name}",
    "#{window_index}",
    "#{pane_id}",
    "#{pane_pid}",
    "#{pane_current_command}",
    "#{pane_current_path}",
    "#{pane_dead}",
    "#{pane_dead_status}",
    "#{pane_dead_signal}",
    "#{pane_title}",
    "#{alternate_on}",
    "#{cursor_x}",
    "#{cursor_y}",
    "#{history_size}",
    "#{pane_width}",
    "#{pane_height}",
    "#{pane_in_mode}",
    "#{window_activity}",
    f"#{{{TAG_OPTION}}}",
)


def field_separator(token: str) -> str:
    return f"{SEPARATOR}{token}{SEPARATOR}"


def record_end(token: str) -> str:
    return f"\x1e{token}\x1e"


def pane_format(token: str) -> str:
    """The list-panes format, delimited by a random token fresh for each call.

    A program's argv[0], a directory name, a title or a user option can hold anything, a newline or our separator
    included, but not a token it cannot guess; so values are read whole without asking tmux to rewrite them (a
    regex substitution per field cost about half of list-panes at 50 panes)."""
    return field_separator(token).join(PANE_FIELDS) + record_end(token)


MARKER_FIELDS = ("#{pane_id}", "#{window_activity}", "#{pane_dead}", "#{pane_width}", "#{pane_height}")


# --- pure functions: arguments in, arguments out; output in, values out


def socket_args(socket: str | os.PathLike | None) -> list[str]:
    """None: the user's default server; a path (anything with a "/"): `-S path`; a bare name: `-L name`."""
    if socket is None:
        return []
    socket = os.fspath(socket)
    if not socket:
        raise ValueError("empty tmux socket name")
    return ["-S", socket] if "/" in socket else ["-L", socket]


def command_names(args: Sequence[str]) -> list[str]:
    """The names of the commands in a tmux command list (`a x ; b y` -> [a, b])."""
    return [arg for index, arg in enumerate(args) if index == 0 or args[index - 1] == ";"]


def argument(value: str) -> str:
    """`value` as one tmux argument. tmux ends a command at any argument whose last character is ";" (and
    drops that ";"); a final backslash-semicolon instead stands for a literal ";"."""
    return value[:-1] + "\\;" if value.endswith(";") else value


def check_session_name(name: str) -> str:
    if not SESSION_NAME.fullmatch(name):
        raise ValueError(f"bad tmux session name {name!r}: no ':', '.', ';' or control characters")
    return name


def check_pane_id(pane_id: str) -> str:
    if not PANE_ID.fullmatch(pane_id):
        raise ValueError(f"bad tmux pane id {pane_id!r}: expected %N")
    return pane_id


def check_tag(tag: str) -> str:
    if not tag or CONTROL_CHARACTERS.search(tag):
        raise ValueError(f"bad Chorus tag {tag!r}: needs printable characters only")
    return tag


def clean_literal(text: str) -> str:
    """What send_text types: `text` without any control character (C0 including TAB, LF, CR and ESC; DEL;
    C1). Typed text can then never be a key: no Enter submits it, no ESC starts a sequence."""
    return CONTROL_CHARACTERS.sub("", text)


def clean_paste(text: str) -> str:
    """What paste sends: line breaks (CRLF, CR, LF) become LF, TAB stays, every other control character goes
    (ESC above all: an `ESC[201~` inside would end the bracketed paste early and tmux 3.3 does not stop it),
    and trailing line breaks go, so a paste never ends in something that could submit."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    return PASTE_CONTROL_CHARACTERS.sub("", text).rstrip("\n")


def environment_script(env: Mapping[str, str]) -> str:
    """The file ENVIRONMENT_LAUNCHER reads: one `export NAME='value'` line a variable, each value quoted for sh so
    that it is only ever data."""
    lines = []
    for key, value in env.items():
        if not VARIABLE_NAME.fullmatch(key):
            raise ValueError(f"bad environment variable name {key!r}: letters, digits and '_', not first a digit")
        if "\x00" in value:
            raise ValueError(f"environment variable {key} holds a NUL character")
        lines.append(f"export {key}={shlex.quote(value)}\n")
    return "".join(lines)


def launcher_argv(environment_file: str, command: Sequence[str]) -> list[str]:
    """The pane's argv that runs `command` with the variables of `environment_file` (see ENVIRONMENT_LAUNCHER)."""
    return ["/bin/sh", "-c", ENVIRONMENT_LAUNCHER, ENVIRONMENT_LAUNCHER_NAME, environment_file, *command]


def write_environment(env: Mapping[str, str]) -> str:
    """A new file holding environment_script(env), readable by this user alone from its creation; its path."""
    text = environment_script(env)
    descriptor, path = tempfile.mkstemp(prefix="chorus-env-")
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        handle.write(text)
    return path


def split_text(text: str, size: int = LITERAL_CHUNK_CHARS) -> list[str]:
    return [text[start : start + size] for start in range(0, len(text), size)]


def optional_int(value: str) -> int | None:
    return int(value) if value else None


def decode(output: bytes) -> str:
    return output.decode("utf-8", errors="replace")


def parse_panes(output: str, token: str) -> list[PaneInfo]:
    """PaneInfo for each record that `list-panes -F pane_format(token)` (or display-message) printed.
    A record without a pane id is skipped: display-message prints empty values for a target that does not exist."""
    panes = []
    records = output.split(record_end(token) + "\n")
    if records[-1].strip():
        raise TmuxError(f"unexpected pane line from tmux: {records[-1]!r}")
    for line in records[:-1]:
        fields = line.split(field_separator(token))
        if len(fields) != len(PANE_FIELDS):
            raise TmuxError(f"unexpected pane line from tmux: {line!r}")
        (
            session,
            window,
            pane_id,
            pid,
            command,
            path,
            dead,
            status,
            signal,
            title,
            alternate,
            x,
            y,
            history,
            width,
            height,
            in_mode,
            activity,
            tag,
        ) = fields
        if not pane_id:
            continue
        panes.append(
            PaneInfo(
                session_name=session,
                window_index=int(window),
                pane_id=pane_id,
                pid=int(pid),
                current_command=command,
                current_path=path,
                dead=dead == "1",
                dead_status=optional_int(status),
                dead_signal=optional_int(signal),
                title=title,
                alternate_on=alternate == "1",
                cursor_x=int(x),
                cursor_y=int(y),
                history_size=int(history),
                width=int(width),
                height=int(height),
                in_mode=in_mode == "1",
                activity=int(activity),
                tag=tag or None,
            )
        )
    return panes


def capture_commands(pane_ids: Sequence[str], token: str, ansi: bool = False) -> list[str]:
    """One command list capturing every pane: before each capture a marker line with the pane tmux found
    (display-message prints empty values for a missing pane rather than failing) and the facts for
    PaneScreen, so one output can be split back into screens. The pane id stays out of the marker text
    itself: tmux runs a display-message format through strftime, and "%4" is a strftime conversion.
    `ansi` keeps colours and attributes as SGR escape sequences (`capture-pane -e`), for a page's mirror."""
    marker = SEPARATOR.join((token, *MARKER_FIELDS))
    capture = ["capture-pane", "-p", "-e"] if ansi else ["capture-pane", "-p"]
    args: list[str] = []
    for pane_id in pane_ids:
        args += ["display-message", "-p", "-t", pane_id, marker, ";", *capture, "-t", pane_id, ";"]
    return args[:-1]


def parse_captures(output: str, token: str, pane_ids: Sequence[str], taken_at: float) -> dict[str, PaneScreen]:
    """Split the output of capture_commands(pane_ids, token) into one PaneScreen per pane that tmux found.
    The n-th marker belongs to the n-th pane asked for; a failure stops the list, leaving fewer markers."""
    # Cut at each marker line whole, rather than line by line: at 50 busy panes that was 2,500 lines a tick. The
    # cut takes the newline that ends the section's last row (every row but the output's very last has one).
    sections = ("\n" + output).split("\n" + token + SEPARATOR)[1:]
    screens = {}
    for index, section in enumerate(sections[: len(pane_ids)]):
        marker, newline, text = section.partition("\n")
        if index < len(sections) - 1:
            text += newline
        elif text and not text.endswith("\n"):
            text += "\n"
        found, activity, dead, width, height = marker.split(SEPARATOR)
        pane_id = pane_ids[index]
        if found == pane_id:
            screens[pane_id] = PaneScreen(pane_id, text, int(activity), dead == "1", int(width), int(height), taken_at)
    return screens


def control_poll_lines(token: str, pane_ids: Sequence[str]) -> list[str]:
    """The lines a control client (`tmux -C`) is sent for one poll: a start marker, every pane's metadata and the
    screens of `pane_ids` as ONE command list, which tmux runs without reading any pane's output in between (so the
    list describes each pane as its capture shows it); then an end marker, a list of its own, which tmux prints
    even when a capture fails and ends the first list there. The format is quoted whole: it holds "#{"."""
    commands = [f"display-message -p {token}", f"list-panes -a -F '{pane_format(token)}'"]
    commands += [f"capture-pane -p -t {check_pane_id(pane_id)}" for pane_id in pane_ids]
    return [" ; ".join(commands), f"display-message -p {control_end(token)}"]


def control_end(token: str) -> str:
    return f"{token}.end"


@functools.lru_cache(maxsize=64)
def _rows(count: int) -> re.Pattern[str]:
    return re.compile(rf"(?:[^\n]*\n){{{count}}}")


def parse_control_poll(
    output: str, token: str, pane_ids: Sequence[str], taken_at: float
) -> tuple[list[PaneInfo], dict[str, PaneScreen]]:
    """What a control client printed for control_poll_lines(token, pane_ids), read up to the end marker: every
    pane and the screens of the panes tmux found. tmux wraps each command's output in `%begin`, `%end` or `%error`
    lines, and a screen may show such a line too, so a screen is read as the number of rows list-panes gave its
    pane (a row holds no newline), never up to the next framing line. A pane missing from the list has gone: its
    capture failed and ended the list, so it and the panes after it come without a screen. Raises tmux's own
    error if list-panes failed and TmuxError for output those lines cannot produce. Positions, not lines: at 200
    busy panes the output is 400 KB."""

    def after(expected: str, at: int) -> int:
        """The start of the line after the one at `at`, which must begin with `expected`."""
        if not output.startswith(expected, at):
            raise TmuxError(f"unexpected control client output: {output[at : at + 40]!r}")
        return output.index("\n", at) + 1

    try:
        at = output.index(f"\n{token}\n") + len(token) + 2
        at = after("%end ", at)
        begin = output.index("\n", at)
        closing = output[at:begin].partition(" ")[2]
        at = after("%begin ", at)
        # list-panes: records up to the line that closes its %begin, right after a record's end (a title or a
        # session name may hold any line, but not the token)
        if output.startswith(f"%end {closing}\n", at):
            body = ""
        else:
            cut = output.find(f"{record_end(token)}\n%end {closing}\n", at)
            if cut < 0:
                raise tmux_error(output[at : output.index(f"%error {closing}\n", at)])
            body = output[at : cut + len(record_end(token)) + 1]
            at = cut + len(record_end(token)) + 1
        at = after("%end ", at)
        panes = parse_panes(body, token)
        listed = {pane.pane_id: pane for pane in panes}
        screens = {}
        for pane_id in pane_ids:
            pane = listed.get(pane_id)
            if pane is None:
                break
            at = after("%begin ", at)
            rows = _rows(pane.height).match(output, at)
            if rows is None:
                raise TmuxError(f"the control client's reply is cut short in the screen of {pane_id}")
            text, at = rows.group(0), after("%end ", rows.end())
            screens[pane_id] = PaneScreen(pane_id, text, pane.activity, pane.dead, pane.width, pane.height, taken_at)
    except ValueError:
        raise TmuxError("the control client's reply is cut short") from None
    return panes, screens


def needs_capture(pane: PaneInfo, last: PaneScreen | None) -> bool:
    """Whether `pane` may show something other than `last`, judged from list-panes alone.

    tmux 3.3 stamps a window's last output in whole seconds only, so an equal stamp proves nothing when the
    capture was taken within that same second: the program may have written again later in it. Once a capture
    starts a second or more after the stamp, an unchanged stamp means no output since. Death, respawn and
    resizes change the screen without output, so they count too."""
    if last is None:
        return True
    if (pane.activity, pane.dead, pane.width, pane.height) != (last.activity, last.dead, last.width, last.height):
        return True
    return last.taken_at < last.activity + 1


def tmux_error(stderr: str) -> TmuxError:
    """The exception for what tmux printed on failure."""
    message = stderr.strip() or "tmux failed without a message"
    if NO_SERVER.search(message):
        return NoServer(message)
    if NO_SESSIONS.search(message):
        return NoSessions(message)
    if TARGET_GONE.search(message):
        return PaneGone(message)
    if DUPLICATE_SESSION.search(message):
        return SessionExists(message)
    return TmuxError(message)


# --- processes


def process_tree(pid: int) -> list[psutil.Process]:
    """The process and all its descendants (empty if it is gone). Take this before killing a session: once
    the pane's process is dead its children are re-parented and can no longer be found from it."""
    try:
        root = psutil.Process(pid)
        return [root, *root.children(recursive=True)]
    except psutil.NoSuchProcess:
        return []


def end_process_tree(processes: Sequence[psutil.Process], timeout: float = 3.0) -> list[psutil.Process]:
    """SIGTERM every process, SIGKILL those still alive after `timeout`; returns any that survived even that.

    Needed because `kill-session` only hangs up the pane's terminal: a program that ignores SIGHUP (Gemini
    CLI does) keeps running, orphaned."""
    for process in running(processes):
        with contextlib.suppress(psutil.NoSuchProcess):
            process.terminate()
    alive = wait_ended(processes, timeout)
    for process in alive:
        with contextlib.suppress(psutil.NoSuchProcess):
            process.kill()
    return wait_ended(alive, timeout)


def running(processes: Iterable[psutil.Process]) -> list[psutil.Process]:
    """The processes still running. A zombie has ended: only its parent's wait is missing, and the parent
    (the tmux server, or init once that is gone) may take its time."""
    alive = []
    for process in processes:
        try:
            if process.is_running() and process.status() != psutil.STATUS_ZOMBIE:
                alive.append(process)
        except psutil.NoSuchProcess:
            continue
    return alive


def wait_ended(processes: Iterable[psutil.Process], timeout: float) -> list[psutil.Process]:
    deadline = time.monotonic() + timeout
    alive = running(processes)
    while alive and time.monotonic() < deadline:
        time.sleep(0.02)
        alive = running(alive)
    return alive


# --- the adapter


class ControlClient:
    """A control-mode client (`tmux -C`) kept running for a Tmux's polls, so a tick starts no process: with 200 busy
    panes one `list-panes` process plus four batched captures took 70 ms, the same through this client 24 ms (a
    bare `list-panes -a` process alone 16 ms). A control client must be attached to a session: it attaches to the
    oldest Chorus pane's, read-only, without a size of its own and without its panes' output (`no-output`), so it
    changes nothing a person sees; when that session ends, tmux detaches it and the next poll attaches anew."""

    # a client that would not start is not tried again sooner
    RETRY_SECONDS = 5.0

    def __init__(self, tmux: "Tmux") -> None:
        self.tmux = tmux
        self.process: subprocess.Popen[bytes] | None = None
        self._tried_at = -1e9

    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def attach(self, panes: Sequence[PaneInfo]) -> None:
        """Start the client, if it is not running, on the session of the oldest tagged pane (none: no client)."""
        if self.running() or time.monotonic() - self._tried_at < self.RETRY_SECONDS:
            return
        tagged = [pane for pane in panes if pane.tag is not None]
        if not tagged:
            return
        self.close()
        self._tried_at = time.monotonic()
        oldest = min(tagged, key=lambda pane: int(pane.pane_id[1:]))
        flags = "read-only,ignore-size,no-output"
        argv = [*self.tmux._client(), "-C", "attach-session", "-f", flags, "-t", check_pane_id(oldest.pane_id)]
        with contextlib.suppress(OSError):
            self.process = subprocess.Popen(
                argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL
            )
            os.set_blocking(self.process.stdout.fileno(), False)

    def poll(self, pane_ids: Sequence[str]) -> tuple[list[PaneInfo], dict[str, PaneScreen]] | None:
        """Tmux.poll through the client; None when there is no client (it has gone: its session ended)."""
        if not self.running():
            return None
        token = secrets.token_hex(8)
        lines = control_poll_lines(token, pane_ids)
        self.tmux.refuse_changes([arg for line in lines for arg in line.split(" ")])
        taken_at = time.time()
        try:
            output = self.ask(lines, f"\n{control_end(token)}\n".encode())
            if output is not None:
                return parse_control_poll(decode(output), token, pane_ids, taken_at)
        except (OSError, TmuxError):
            pass  # a client in doubt is ended: the poll is taken the other way, and the next one attaches anew
        self.close()
        return None

    def ask(self, lines: Sequence[str], end: bytes) -> bytes | None:
        """Send the lines; what the client printed up to `end` (None if it ended first)."""
        assert self.process is not None and self.process.stdin is not None and self.process.stdout is not None
        self.process.stdin.write("".join(f"{line}\n" for line in lines).encode())
        self.process.stdin.flush()
        stdout = self.process.stdout.fileno()
        deadline = time.monotonic() + self.tmux.timeout
        chunks: list[bytes] = []
        tail = b""
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TmuxError(f"tmux did not answer within {self.tmux.timeout} s (control client)")
            ready, _, _ = select.select([stdout], [], [], remaining)
            if not ready:
                continue
            try:
                chunk = os.read(stdout, 1 << 20)
            except BlockingIOError:
                continue
            if not chunk:
                return None
            chunks.append(chunk)
            # the end marker may straddle two reads
            if end in tail[-len(end) :] + chunk:
                return b"".join(chunks)
            tail = chunk

    def close(self) -> None:
        """End the client: tmux detaches a control client whose input ends."""
        process, self.process = self.process, None
        if process is None:
            return
        with contextlib.suppress(OSError):
            process.stdin.close()
        try:
            process.wait(timeout=1.0)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        process.stdout.close()


# How a Tmux runs its client: subprocess.run's signature (argv, input=, capture_output=, timeout=, check=).
Runner = Callable[..., subprocess.CompletedProcess[bytes]]


class Tmux:
    """One tmux server: `socket` None is the user's default (so `tmux attach -t NAME` just works), a bare name
    is `-L name`, a path is `-S path`. `config_file` is read when this adapter starts the server (tests pass
    os.devnull to keep the user's ~/.tmux.conf out). `run` starts the tmux client: a seam for tests that look at
    the commands without running tmux."""

    def __init__(
        self,
        socket: str | os.PathLike | None = None,
        *,
        binary: str = "tmux",
        config_file: str | os.PathLike | None = None,
        timeout: float = 10.0,
        run: Runner = subprocess.run,
        control: bool = False,
    ) -> None:
        self.socket = socket
        self.binary = binary
        self.config_file = config_file
        self.timeout = timeout
        self.run = run
        self._control = ControlClient(self) if control else None

    def __repr__(self) -> str:
        return f"Tmux(socket={self.socket!r})"

    # sessions

    def new_session(
        self,
        name: str,
        command: Sequence[str],
        *,
        cwd: str | os.PathLike | None = None,
        env: Mapping[str, str] | None = None,
        width: int = 200,
        height: int = 50,
        tag: str | None = None,
        remain_on_exit: bool = True,
    ) -> PaneInfo:
        """Start `command` (an argv list, never shell text; empty: tmux's default shell) detached in a new
        session and return its pane.

        `env` reaches the program through a private file that its launcher reads and removes, never through an
        argument (see ENVIRONMENT_LAUNCHER): its values are often API keys. `tag` is stored as the pane option
        @chorus_session (on the pane, not the session, so a pane the user splits off is not mistaken for the
        agent). `remain_on_exit` keeps a finished pane around, dead, so its exit status and last screen can still
        be read."""
        check_session_name(name)
        environment_file = write_environment(env) if env else None
        if environment_file is not None:
            argv = launcher_argv(environment_file, command)
        else:
            # With one argument tmux hands it to the shell as text; quoting keeps it a single program path.
            argv = [shlex.quote(command[0])] if len(command) == 1 else list(command)
        target = f"={name}:"
        args = ["new-session", "-d", "-s", name, "-x", str(width), "-y", str(height)]
        if cwd is not None:
            args += ["-c", argument(os.fspath(cwd))]
        if argv:
            args += ["--", *(argument(arg) for arg in argv)]
        if remain_on_exit:
            args += [";", "set-option", "-p", "-t", target, "remain-on-exit", "on"]
        if tag is not None:
            args += [";", "set-option", "-p", "-t", target, TAG_OPTION, argument(check_tag(tag))]
        token = secrets.token_hex(6)
        args += [";", "display-message", "-p", "-t", target, pane_format(token)]
        try:
            return parse_panes(self._run_starting_server(args), token)[0]
        except BaseException:
            if environment_file is not None:
                # no launcher runs to remove it (or it has, and this finds nothing)
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(environment_file)
            raise

    def has_session(self, name: str) -> bool:
        try:
            self._run(["has-session", "-t", f"={check_session_name(name)}"])
        except PaneGone:
            return False
        return True

    def kill_session(self, name: str) -> bool:
        """Kill the session (its panes get SIGHUP); False if there was none. A program that ignores SIGHUP
        survives this: see process_tree() and end_process_tree()."""
        try:
            self._run(["kill-session", "-t", f"={check_session_name(name)}"])
        except PaneGone:
            return False
        return True

    def kill_server(self) -> None:
        """Stop this adapter's private server; refused for the user's default server."""
        if self.socket is None:
            raise ValueError("refusing to kill the user's default tmux server")
        try:
            self._run(["kill-server"])
        except NoServer:
            return

    def attach_command(self, name: str) -> str:
        """The shell command a user runs to look at the session."""
        return shlex.join([self.binary, *socket_args(self.socket), "attach", "-t", check_session_name(name)])

    # panes

    def list_panes(self) -> list[PaneInfo]:
        """Every pane of the server, in one tmux call; empty if no server runs."""
        try:
            token = secrets.token_hex(6)
            return parse_panes(self._run(["list-panes", "-a", "-F", pane_format(token)]), token)
        except NoPanes:
            return []

    def pane(self, target: str) -> PaneInfo:
        """One pane: `target` is a pane id (%N) or a session name (its active pane). Raises PaneGone."""
        target = target if PANE_ID.fullmatch(target) else f"={check_session_name(target)}:"
        token = secrets.token_hex(6)
        panes = parse_panes(self._run(["display-message", "-p", "-t", target, pane_format(token)]), token)
        if not panes:
            raise PaneGone(f"can't find pane: {target}")
        return panes[0]

    def set_tag(self, pane_id: str, tag: str | None) -> None:
        """Tag a pane as a Chorus session's (e.g. one adopted from the user), or untag it with None."""
        check_pane_id(pane_id)
        if tag is None:
            self._run(["set-option", "-p", "-u", "-t", pane_id, TAG_OPTION])
        else:
            self._run(["set-option", "-p", "-t", pane_id, TAG_OPTION, argument(check_tag(tag))])

    def kill_pane(self, pane_id: str) -> bool:
        """Kill one pane (SIGHUP to its program, like kill_session); False if there was none."""
        try:
            self._run(["kill-pane", "-t", check_pane_id(pane_id)])
        except PaneGone:
            return False
        return True

    def reap(self) -> None:
        """Have the server collect its exited children. tmux 3.3 can miss the SIGCHLD of a program that exits at once
        (about 1 start in 20 here): its pane is dead, the program a zombie, and no exit status comes until another
        child of the server exits. A `run-shell true` is such a child; the server then reaps every zombie it has."""
        self._run(["run-shell", "true"])

    def panes_by_tag(self) -> dict[str, PaneInfo]:
        """The tagged panes by their tag: how a restarted Chorus finds its sessions again."""
        return {pane.tag: pane for pane in self.list_panes() if pane.tag is not None}

    def capture(self, pane_id: str, ansi: bool = False) -> PaneScreen:
        """One pane's visible screen (with `ansi`, its SGR colour sequences too). Raises PaneGone."""
        screens = self.capture_many([pane_id], ansi=ansi)
        if pane_id not in screens:
            raise PaneGone(f"can't find pane: {pane_id}")
        return screens[pane_id]

    def capture_with_history(self, pane_id: str, history: int) -> str:
        """A pane's screen as plain text with up to `history` lines scrolled off above it: a dead pane's last
        words, which tmux scrolls away when it draws "Pane is dead". Raises PaneGone."""
        return self._run(["capture-pane", "-p", "-S", str(-history), "-t", check_pane_id(pane_id)])

    def poll(self, capture: Iterable[str] = ()) -> tuple[list[PaneInfo], dict[str, PaneScreen]]:
        """Every pane's metadata and the screens of the panes in `capture`, in ONE invocation: the worker's tick.
        With `control`, through the control client (every pane in `capture`), else one tmux process (at most
        CAPTURE_BATCH of them). A capture that fails (the pane has gone) ends tmux's command list there, so fewer
        screens come back; the caller captures what it still needs with capture_many()."""
        pane_ids = [check_pane_id(pane_id) for pane_id in dict.fromkeys(capture)]
        if self._control is not None:
            polled = self._control.poll(pane_ids)
            if polled is not None:
                return polled
        polled = self._poll_once(pane_ids[:CAPTURE_BATCH])
        if self._control is not None:
            self._control.attach(polled[0])
        return polled

    def _poll_once(self, pane_ids: list[str]) -> tuple[list[PaneInfo], dict[str, PaneScreen]]:
        token = secrets.token_hex(8)
        args = ["list-panes", "-a", "-F", pane_format(token)]
        if pane_ids:
            args += [";", *capture_commands(pane_ids, token)]
        taken_at = time.time()
        result = self._call(args)
        if result.returncode != 0:
            error = tmux_error(decode(result.stderr))
            if isinstance(error, NoServer):
                return [], {}
            if not isinstance(error, PaneGone):
                raise error
        output = decode(result.stdout)
        end = record_end(token) + "\n"
        cut = output.rfind(end) + len(end) if end in output else 0
        return parse_panes(output[:cut], token), parse_captures(output[cut:], token, pane_ids, taken_at)

    def close(self) -> None:
        """End the control client, if one runs."""
        if self._control is not None:
            self._control.close()

    def capture_many(self, pane_ids: Iterable[str], ansi: bool = False) -> dict[str, PaneScreen]:
        """The visible screen of every pane named, in one tmux invocation per CAPTURE_BATCH panes. Panes that
        no longer exist are left out of the result."""
        pending = [check_pane_id(pane_id) for pane_id in dict.fromkeys(pane_ids)]
        screens: dict[str, PaneScreen] = {}
        while pending:
            batch, pending = pending[:CAPTURE_BATCH], pending[CAPTURE_BATCH:]
            token = secrets.token_hex(8)
            taken_at = time.time()
            result = self._call(capture_commands(batch, token, ansi))
            captured = parse_captures(decode(result.stdout), token, batch, taken_at)
            screens.update(captured)
            if result.returncode == 0:
                continue
            error = tmux_error(decode(result.stderr))
            if isinstance(error, NoPanes):
                return screens
            if not isinstance(error, PaneGone):
                raise error
            # tmux abandons a command list at its first failure: the first pane without a marker is the one
            # that has gone, and the panes after it were never tried.
            gone = next(index for index, pane_id in enumerate(batch) if pane_id not in captured)
            pending = batch[gone + 1 :] + pending
        return screens

    # input

    def send_text(self, pane_id: str, text: str) -> None:
        """Type `text` as literal keystrokes, after clean_literal(); never submits. For text with line breaks
        use paste_text()."""
        check_pane_id(pane_id)
        for index, chunk in enumerate(split_text(clean_literal(text))):
            # `-l` keeps key names ("C-c", "Enter") as text and `--` keeps a leading "-" from being a flag
            send = ["send-keys", "-l", "-t", pane_id, "--", argument(chunk)]
            self._run([*self._leave_modes(pane_id), *send] if index == 0 else send)

    def paste_text(self, pane_id: str, text: str) -> None:
        """Insert `text`, after clean_paste(), as one bracketed paste through a named buffer: the program
        takes its line breaks as part of the draft, not as Enter. This relies on the program having turned
        bracketed paste on (the agent TUIs Chorus knows do); tmux 3.3 cannot report whether it has."""
        check_pane_id(pane_id)
        text = clean_paste(text)
        if not text:
            return
        buffer = f"chorus-{secrets.token_hex(8)}"
        load = ["load-buffer", "-b", buffer, "-", ";"]
        put = ["paste-buffer", "-p", "-d", "-b", buffer, "-t", pane_id]
        # the pane is checked (by copy-mode) before the buffer exists, so a vanished pane leaves no buffer
        self._run([*self._leave_modes(pane_id), *load, *put], stdin=text.encode())

    def send_keys(self, pane_id: str, *keys: str) -> None:
        """Press named keys, each from ALLOWED_KEYS, in order."""
        check_pane_id(pane_id)
        refused = [key for key in keys if key not in ALLOWED_KEYS]
        if refused:
            raise KeyNotAllowed(f"keys not allowed: {', '.join(map(repr, refused))}")
        if keys:
            self._run([*self._leave_modes(pane_id), "send-keys", "-t", pane_id, *keys])

    @staticmethod
    def _leave_modes(pane_id: str) -> list[str]:
        # In copy mode (a user scrolling back) keys would drive the mode instead of reaching the program.
        return ["copy-mode", "-q", "-t", pane_id, ";"]

    # running tmux

    @staticmethod
    def refuse_changes(args: Sequence[str]) -> None:
        """While Chorus runs read-only, refuse a command list with any command that does not only look: for the
        commands run here and for those sent through a control client (sessions_app.terminal)."""
        if settings.CHORUS_READ_ONLY:
            changing = [name for name in command_names(args) if name not in LOOKING]
            if changing:
                raise ReadOnly(f"tmux {changing[0]} would change a terminal")

    def control_argv(self, pane_id: str) -> list[str]:
        """The argv of a control-mode client (`tmux -C`) on the session holding the pane. It attaches read-only
        (`-r`): it never sizes the window and none of its own keys reach a pane, so starting it only looks; the
        commands sent through it are checked with refuse_changes."""
        return [*self._client(), "-C", "attach-session", "-r", "-t", check_pane_id(pane_id)]

    def _client(self) -> list[str]:
        # -u: list output comes as UTF-8 whatever the locale; under LC_ALL=C tmux would print "_" for "✳"
        command = [self.binary, "-u", *socket_args(self.socket)]
        if self.config_file is not None:
            command += ["-f", os.fspath(self.config_file)]
        return command

    def _call(self, args: list[str], stdin: bytes | None = None) -> subprocess.CompletedProcess[bytes]:
        self.refuse_changes(args)
        try:
            return self.run(
                [*self._client(), *args], input=stdin, capture_output=True, timeout=self.timeout, check=False
            )
        except FileNotFoundError:
            raise TmuxMissing(f"tmux is not installed ({INSTALL_HINT})") from None
        except subprocess.TimeoutExpired:
            raise TmuxError(f"tmux did not answer within {self.timeout} s ({args[0]})") from None

    def _run(self, args: list[str], stdin: bytes | None = None) -> str:
        result = self._call(args, stdin)
        if result.returncode != 0:
            raise tmux_error(decode(result.stderr))
        return decode(result.stdout)

    def _run_starting_server(self, args: list[str]) -> str:
        """`_run` for a command that starts the server when none runs. Killing the last session ends the server,
        and for a moment its socket still answers: a command sent then fails with "server exited unexpectedly"
        and did nothing, so it is sent again once that server is gone."""
        for pause in SERVER_EXIT_PAUSES:
            try:
                return self._run(args)
            except NoServer:
                time.sleep(pause)
        return self._run(args)


def configured(control: bool = False) -> Tmux:
    """The tmux server Chorus works with: settings.CHORUS_TMUX_SOCKET, or the user's default server. `control`:
    polls go through a control client (the worker's)."""
    return Tmux(settings.CHORUS_TMUX_SOCKET or None, control=control)
