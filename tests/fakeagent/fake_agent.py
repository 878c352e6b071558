"""A fake coding agent: draws Claude-Code-like screens in a terminal and logs every prompt it receives.

Pure stdlib, so it runs in any tmux pane as `python fake_agent.py --log prompts.jsonl`. It mimics what
Claude Code 2.1.330 shows (see /work/shared/fixtures/claude_code-2.1.330/): an input box (prompt mark U+276F
and a NO-BREAK SPACE) between two full-width rules, a spinner `<glyph> <Gerund>…` with `esc to interrupt`
while it works, and a "Do you want to proceed?" dialog where the input box was. Each prompt goes to the --log
file as one JSON line holding the exact text, so tests can check byte for byte what arrived.

Prompt directives: `work:3` works 3 s instead of --work-seconds; `ask:CMD` opens a permission dialog for CMD
first (`1`/Enter accepts, `2`/Esc declines; a PermissionRequest hook that prints Claude Code's allow or deny decision
answers it instead, as Claude Code does); `limit:N` answers with a usage-limit notice that resets in N seconds.
Its conversation id (`sessionId` in the status file) is random, or the one `--resume ID` continues.
`/exit` quits with status 0; so does Ctrl-C twice on an empty line.
"""

import argparse
import codecs
import json
import os
import random
import re
import select
import signal
import subprocess
import sys
import termios
import time
import tty
import unicodedata
import uuid
from pathlib import Path

NBSP = "\u00a0"
PROMPT_MARK = "\u276f"  # Claude Code's prompt mark, HEAVY RIGHT-POINTING ANGLE QUOTATION MARK ORNAMENT
RULE_CHAR = "─"
SPINNER_GLYPHS = "·✢*✶✻✽"
SPINNER_FRAME_SECONDS = 0.2
VERBS = ("Pondering", "Brewing", "Computing", "Effecting", "Noodling", "Whirring", "Simmering", "Bunning")
EXIT_PENDING_SECONDS = 2.0
# A lone ESC is the Escape key only if nothing follows it quickly; otherwise it starts a sequence.
ESCAPE_WAIT_SECONDS = 0.05
TOKENS_PER_SECOND = 23

PASTE_START = b"\x1b[200~"
PASTE_END = b"\x1b[201~"
ESCAPE_SEQUENCE = re.compile(rb"\x1b[\[O][0-?]*[ -/]*[@-~]")
ESCAPE_SEQUENCE_PREFIX = re.compile(rb"\x1b(?:[\[O][0-?]*[ -/]*)?\Z")
SEQUENCE_KEYS = {
    b"\x1b[A": "up",
    b"\x1b[B": "down",
    b"\x1b[C": "right",
    b"\x1b[D": "left",
    b"\x1bOA": "up",
    b"\x1bOB": "down",
    b"\x1bOC": "right",
    b"\x1bOD": "left",
    b"\x1b[Z": "btab",
}
CONTROL_KEYS = {
    0x03: "ctrl-c",
    0x04: "ctrl-d",
    0x08: "backspace",
    0x09: "tab",
    0x0A: "newline",
    0x0D: "enter",
    0x15: "ctrl-u",
    0x7F: "backspace",
}
CONTROL_CHARACTER = re.compile("[\x00-\x1f\x7f-\x9f\udc80-\udcff]")
WORK_DIRECTIVE = re.compile(r"(?<!\w)work:(\d+(?:\.\d+)?)")
ASK_DIRECTIVE = re.compile(r"(?<!\w)ask:(\S*)")
LIMIT_DIRECTIVE = re.compile(r"(?<!\w)limit:(\d+)")


def cell_width(char: str) -> int:
    if unicodedata.combining(char):
        return 0
    return 2 if unicodedata.east_asian_width(char) in ("W", "F") else 1


def fit(line: str, width: int) -> str:
    """The line cut to at most `width` terminal cells."""
    cells = 0
    for index, char in enumerate(line):
        cells += cell_width(char)
        if cells > width:
            return line[:index]
    return line


def wrap(line: str, width: int) -> list[str]:
    """The line split into pieces of at most `width` cells (an empty line stays one empty piece)."""
    pieces = []
    while True:
        piece = fit(line, width)
        if not piece or piece == line:
            return [*pieces, line]
        pieces.append(piece)
        line = line[len(piece) :]


def printable(line: str) -> str:
    """The line as it can be drawn: tabs expanded, other control characters shown as "?"."""
    return CONTROL_CHARACTER.sub("?", line.expandtabs(4))


def decode(data: bytes) -> str:
    # surrogateescape keeps invalid bytes visible in the log instead of silently replacing them
    return data.decode("utf-8", errors="surrogateescape")


class InputParser:
    """Turns the raw byte stream of a terminal in raw mode into events: ("text", str), ("paste", str),
    ("key", name)."""

    def __init__(self) -> None:
        self.pending = b""
        self.paste: bytearray | None = None
        self.text_decoder = codecs.getincrementaldecoder("utf-8")(errors="surrogateescape")

    def feed(self, data: bytes) -> list[tuple[str, str]]:
        self.pending += data
        events: list[tuple[str, str]] = []
        while self.pending:
            if self.paste is not None:
                if not self._continue_paste(events):
                    break
            elif self.pending[0] == 0x1B:
                if not self._escape(events):
                    break
            elif self.pending[0] < 0x20 or self.pending[0] == 0x7F:
                events.append(("key", CONTROL_KEYS.get(self.pending[0], "unknown")))
                self.pending = self.pending[1:]
            else:
                end = next(
                    (i for i, byte in enumerate(self.pending) if byte < 0x20 or byte == 0x7F),
                    len(self.pending),
                )
                text = self.text_decoder.decode(self.pending[:end])
                self.pending = self.pending[end:]
                if text:
                    events.append(("text", text))
        return events

    def flush(self) -> list[tuple[str, str]]:
        """Called when input has been quiet for a moment: an unfinished escape sequence was the Escape key."""
        if self.paste is None and self.pending.startswith(b"\x1b"):
            rest, self.pending = self.pending[1:], b""
            return [("key", "escape"), *self.feed(rest)]
        return []

    def _continue_paste(self, events: list[tuple[str, str]]) -> bool:
        assert self.paste is not None
        end = self.pending.find(PASTE_END)
        if end < 0:
            # keep back a tail that may be the start of the end marker split across reads
            keep = next((n for n in range(len(PASTE_END) - 1, 0, -1) if self.pending.endswith(PASTE_END[:n])), 0)
            self.paste += self.pending[: len(self.pending) - keep]
            self.pending = self.pending[len(self.pending) - keep :]
            return False
        self.paste += self.pending[:end]
        self.pending = self.pending[end + len(PASTE_END) :]
        events.append(("paste", decode(bytes(self.paste))))
        self.paste = None
        return True

    def _escape(self, events: list[tuple[str, str]]) -> bool:
        if self.pending.startswith(PASTE_START):
            self.paste = bytearray()
            self.pending = self.pending[len(PASTE_START) :]
            return True
        if ESCAPE_SEQUENCE_PREFIX.match(self.pending):
            return False
        match = ESCAPE_SEQUENCE.match(self.pending)
        if match:
            events.append(("key", SEQUENCE_KEYS.get(match.group(), "unknown")))
            self.pending = self.pending[match.end() :]
        else:
            # ESC followed by an ordinary byte: Escape pressed just before another key
            events.append(("key", "escape"))
            self.pending = self.pending[1:]
        return True


class Terminal:
    """The controlling terminal in raw mode, on the alternate screen, with bracketed paste turned on."""

    def __init__(self, title: str | None) -> None:
        self.saved = termios.tcgetattr(0)
        tty.setraw(0)
        self.title = title
        self.gone = False
        # signals (SIGWINCH) write to this pipe, so a resize wakes the idle select() at once
        self.wakeup, wakeup_write = os.pipe()
        os.set_blocking(wakeup_write, False)
        signal.set_wakeup_fd(wakeup_write)

    def enter(self) -> None:
        self.write("\x1b[?1049h\x1b[?2004h\x1b[2J")
        if self.title is not None:
            self.write(f"\x1b]2;{self.title}\x07")

    def leave(self) -> None:
        self.write("\x1b[?2004l\x1b[?25h\x1b[?1049l")
        if not self.gone:
            termios.tcsetattr(0, termios.TCSADRAIN, self.saved)

    def size(self) -> tuple[int, int]:
        columns, lines = os.get_terminal_size(1)
        return max(columns, 20), max(lines, 12)

    def read(self, timeout: float | None) -> bytes | None:
        """Bytes typed, b"" on a quiet timeout or a signal, None once the terminal is gone (pane killed)."""
        try:
            ready, _, _ = select.select([0, self.wakeup], [], [], timeout)
            if self.wakeup in ready:
                os.read(self.wakeup, 512)
            if 0 not in ready:
                return b""
            data = os.read(0, 65536)
        except OSError:
            data = b""
        if not data:
            self.gone = True
            return None
        return data

    def write(self, text: str) -> None:
        if self.gone:
            return
        data = text.encode("utf-8", errors="surrogateescape")
        try:
            while data:
                data = data[os.write(1, data) :]
        except OSError:
            self.gone = True


class FakeAgent:
    def __init__(self, options: argparse.Namespace, terminal: Terminal) -> None:
        self.options = options
        self.terminal = terminal
        self.parser = InputParser()
        self.state = "idle"
        self.draft = ""
        self.queue: list[str] = []
        self.transcript: list[str] = []
        self.prompt_count = 0
        self.exit_pending_until: float | None = None
        self.exit_code: int | None = None
        self.busy_started = 0.0
        self.busy_until = 0.0
        self.after_busy = "finish"
        self.verb = VERBS[0]
        self.reply_words: list[str] = []
        self.reply_start = 0
        self.work_seconds = 0.0
        self.ask_command = ""
        self.selection = 0
        self.frame: list[str] | None = None
        self.cursor = ""
        self.resized = False
        self.hooks = hook_commands(options.settings)
        self.hook_processes: list[subprocess.Popen] = []
        # the PermissionRequest hooks of the dialog on screen, whose printed decision answers it
        self.deciders: list[subprocess.Popen] = []
        self.reported_status = ""
        self.conversation_id = options.resume or str(uuid.uuid4())

    # --- the loop

    def run(self) -> int:
        signal.signal(signal.SIGWINCH, self._on_resize)
        time.sleep(self.options.start_delay)
        boot_until = time.monotonic() + self.options.boot_cpu
        while time.monotonic() < boot_until:
            pass  # like a CLI loading its code: CPU busy, nothing drawn yet
        self.terminal.enter()
        self.log(event="ready", conversation=self.conversation_id)
        self.draw()
        while self.exit_code is None:
            data = self.terminal.read(self._timeout())
            if data is None:
                self._wait_forever_or_quit()
                continue
            events = self.parser.feed(data) if data else self.parser.flush()
            for kind, value in events:
                self.handle(kind, value)
                if self.exit_code is not None:
                    return self.exit_code
            self.tick(time.monotonic())
            self.draw()
        return self.exit_code

    def _timeout(self) -> float | None:
        if self.parser.pending:
            return ESCAPE_WAIT_SECONDS
        if self.state == "busy" or (self.state == "permission" and self.deciders):
            return SPINNER_FRAME_SECONDS / 2
        if self.exit_pending_until is not None:
            return max(self.exit_pending_until - time.monotonic(), 0.0)
        return None

    def _wait_forever_or_quit(self) -> None:
        # Like Gemini CLI: a process that ignores SIGHUP outlives its pane; otherwise the hangup ends us.
        if not self.options.ignore_sighup:
            self.exit_code = 1
            return
        while True:
            time.sleep(3600)

    def _on_resize(self, signum, frame) -> None:
        self.resized = True

    def log(self, **entry) -> None:
        if self.options.log is None:
            return
        entry["t"] = time.time()
        with open(self.options.log, "a", encoding="utf-8") as log:
            log.write(json.dumps(entry) + "\n")

    # --- input

    def handle(self, kind: str, value: str) -> None:
        if self.exit_pending_until is not None and (kind, value) not in (("key", "ctrl-c"), ("key", "ctrl-d")):
            self.exit_pending_until = None
        if self.state == "permission":
            self.handle_permission(kind, value)
        elif kind == "text":
            self.draft += value
        elif kind == "paste":
            # terminals (and tmux) turn pasted line feeds into CR; inside a paste they are line breaks
            self.draft += value.replace("\r\n", "\n").replace("\r", "\n")
        else:
            self.handle_key(value)

    def handle_key(self, key: str) -> None:
        if key == "enter":
            self.submit()
        elif key == "newline":
            self.draft += "\n"
        elif key == "backspace":
            self.draft = self.draft[:-1]
        elif key == "ctrl-u":
            self.draft = ""
        elif key == "escape" and self.state == "busy":
            self.interrupt()
        elif key in ("ctrl-c", "ctrl-d"):
            if self.state == "busy":
                self.interrupt()
            elif self.draft:
                self.draft = ""
            elif self.exit_pending_until is not None:
                self.quit("ctrl-c")
            else:
                self.exit_pending_until = time.monotonic() + EXIT_PENDING_SECONDS

    def handle_permission(self, kind: str, value: str) -> None:
        """Digits choose an option, arrows move the selection, Enter takes it, Escape declines."""
        if kind == "text":
            for char in value:
                if char in "12" and self.state == "permission":
                    self.answer(char == "1")
        elif kind == "key" and value == "enter":
            self.answer(self.selection == 0)
        elif kind == "key" and value in ("escape", "ctrl-c", "ctrl-d"):
            self.answer(False)
        elif kind == "key" and value in ("up", "down"):
            self.selection = 1 - self.selection

    def submit(self) -> None:
        text, self.draft = self.draft, ""
        if text.strip() == "/exit":
            self.quit("/exit")
            return
        if not text.strip():
            return
        self.prompt_count += 1
        self.log(event="prompt", n=self.prompt_count, text=text)
        self.fire("UserPromptSubmit", prompt=text)
        if self.state == "busy":
            self.queue.append(text)
        else:
            self.start(text)

    def quit(self, reason: str) -> None:
        self.log(event="exit", reason=reason)
        self.fire("SessionEnd", reason="prompt_input_exit")
        if self.options.sessions_dir:
            (self.options.sessions_dir / f"{os.getpid()}.json").unlink(missing_ok=True)
        self.exit_code = 0

    # --- what Claude Code tells an orchestrator: hooks (--settings) and its session file

    def fire(self, event: str, **payload) -> None:
        """Run the hook commands for `event` with the JSON payload on stdin, without waiting, like Claude Code."""
        self.hook_processes = [p for p in self.hook_processes if p.poll() is None]
        body = json.dumps({"hook_event_name": event, "session_id": "fake", "cwd": os.getcwd(), **payload})
        deciding = event == "PermissionRequest"
        self.deciders = []
        for command in self.hooks.get(event, []):
            output = subprocess.PIPE if deciding else subprocess.DEVNULL
            process = subprocess.Popen(["sh", "-c", command], stdin=subprocess.PIPE, stdout=output)
            process.stdin.write(body.encode())
            process.stdin.close()
            self.hook_processes.append(process)
            if deciding:
                self.deciders.append(process)

    def hook_decision(self) -> bool | None:
        """Allow (True) or deny (False) as a finished PermissionRequest hook printed it; None while none has."""
        for process in [process for process in self.deciders if process.poll() is not None]:
            self.deciders.remove(process)
            try:
                decision = json.loads(process.stdout.read() or "null")["hookSpecificOutput"]["decision"]["behavior"]
            except (ValueError, TypeError, KeyError):
                continue
            if decision in ("allow", "deny"):
                return decision == "allow"
        return None

    def conversation(self) -> tuple[str, Path]:
        """Its conversation id and transcript, where Claude Code keeps them (under --claude-dir)."""
        session_id = self.conversation_id
        folder = re.sub(r"[^A-Za-z0-9]", "-", os.getcwd())
        return session_id, self.options.claude_dir / "projects" / folder / f"{session_id}.jsonl"

    def write_transcript(self) -> None:
        """A reply's usage as Claude Code records it: one assistant line per content block (a thinking block and a
        text block here), each with the message's whole usage, after the user's line."""
        if not self.options.claude_dir:
            return
        _, path = self.conversation()
        path.parent.mkdir(parents=True, exist_ok=True)
        usage = {"input_tokens": 100, "output_tokens": 50, "cache_read_input_tokens": 1000}
        usage["cache_creation_input_tokens"] = 10
        message = {"id": f"msg_fake_{self.prompt_count}", "model": "claude-sonnet-4-5-fake", "usage": usage}
        blocks = [{"type": "thinking", "thinking": "..."}, {"type": "text", "text": "done"}]
        lines = [{"type": "user", "message": {"role": "user", "content": f"prompt {self.prompt_count}"}}]
        request = f"req_fake_{self.prompt_count}"
        lines += [{"type": "assistant", "requestId": request, "message": {**message, "content": [b]}} for b in blocks]
        with open(path, "a") as file:
            file.write("".join(json.dumps(line) + "\n" for line in lines))

    def report_status(self) -> None:
        status = {"busy": "busy", "permission": "waiting"}.get(self.state, "idle")
        if status == self.reported_status:
            return
        self.reported_status = status
        # when each state began, as the frame drawn next shows it: what detection latencies are measured from
        self.log(event="status", status=status)
        if not self.options.sessions_dir:
            return
        data = {"pid": os.getpid(), "status": status, "statusUpdatedAt": int(time.time() * 1000)}
        data["sessionId"] = self.conversation_id
        if self.options.claude_dir:
            # what names its pane, as Claude Code's own file does (cwd, tmux)
            data |= {"cwd": os.getcwd(), "tmux": f"fake:@0.{os.environ.get('TMUX_PANE', '')}"}
        if status == "waiting":
            data["waitingFor"] = "permission prompt"
        path = self.options.sessions_dir / f"{os.getpid()}.json"
        path.with_suffix(".tmp").write_text(json.dumps(data))
        path.with_suffix(".tmp").replace(path)

    # --- work

    def start(self, text: str) -> None:
        lines = text.split("\n")
        self.transcript += ["", f"{PROMPT_MARK} {lines[0]}", *(f"  {line}" for line in lines[1:]), ""]
        work = WORK_DIRECTIVE.search(text)
        self.work_seconds = float(work.group(1)) if work else self.options.work_seconds
        ask = ASK_DIRECTIVE.search(text)
        every = self.options.ask_every
        limit = LIMIT_DIRECTIVE.search(text)
        if limit:
            self.transcript.append(f"  ⎿  You've hit your session limit · resets in {limit.group(1)}s")
            self.log(event="limit", seconds=int(limit.group(1)))
        elif ask or (every and self.prompt_count % every == 0):
            self.ask_command = (ask.group(1) if ask else "") or "echo hello"
            self.transcript.append("● I will run a shell command.")
            self.busy(self.options.ask_delay, then="ask")
        else:
            self.begin_reply(text)

    def begin_reply(self, text: str) -> None:
        first_line = text.split("\n")[0]
        self.reply_words = f"Fake reply to prompt {self.prompt_count}: {first_line}".split()
        self.reply_start = len(self.transcript)
        self.busy(self.work_seconds, then="finish")

    def busy(self, seconds: float, then: str) -> None:
        self.state = "busy"
        self.verb = random.choice(VERBS)
        self.busy_started = time.monotonic()
        self.busy_until = self.busy_started + seconds
        self.after_busy = then

    def tick(self, now: float) -> None:
        if self.exit_pending_until is not None and now >= self.exit_pending_until:
            self.exit_pending_until = None
        if self.state == "permission" and self.deciders:
            decided = self.hook_decision()
            if decided is not None:
                self.deciders = []
                self.answer(decided)
            return
        if self.state != "busy":
            return
        if self.reply_words:
            shown = self._reply_shown(now)
            self.transcript[self.reply_start :] = ["● " + " ".join(self.reply_words[:shown])] if shown else []
        if now < self.busy_until:
            return
        if self.after_busy == "ask":
            self.state = "permission"
            self.selection = 0
            self.fire("PermissionRequest", tool_name="Bash", tool_input={"command": self.ask_command})
            return
        seconds = max(round(now - self.busy_started), 1)
        self.transcript += ["", f"✻ Worked for {seconds}s"]
        self.reply_words = []
        self.state = "idle"
        self.write_transcript()
        self.fire("Stop", last_assistant_message="done")
        if self.queue:
            self.start(self.queue.pop(0))

    def _reply_shown(self, now: float) -> int:
        total = max(self.busy_until - self.busy_started, 1e-9)
        return min(len(self.reply_words), int(len(self.reply_words) * (now - self.busy_started) / total) + 1)

    def answer(self, accepted: bool) -> None:
        self.deciders = []
        self.log(event="permission", answer="yes" if accepted else "no", command=self.ask_command)
        self.transcript += [f"● Bash({self.ask_command})"]
        if accepted:
            self.begin_reply(f"ran {self.ask_command}")
        else:
            self.transcript += ["  ⎿  User declined to run the command", ""]
            self.state = "idle"

    def interrupt(self) -> None:
        self.log(event="interrupted")
        self.transcript += ["  ⎿  Interrupted · What should Claude do instead?"]
        self.reply_words = []
        self.queue.clear()
        self.state = "idle"

    # --- screen

    def draw(self) -> None:
        self.report_status()
        width, height = self.terminal.size()
        if self.resized:
            self.resized = False
            self.frame = None
            self.terminal.write("\x1b[2J")
        header = [
            "",
            " ▐▛███▛█   Fake Agent v1.0",
            "▝▜██████▀  Claude Code look-alike · scripted, no model",
            f" ▝▝   ▝▝   {os.getcwd()}",
            "",
        ]
        bottom, cursor = self.bottom(width, height - len(header), time.monotonic())
        room = max(height - len(header) - len(bottom), 0)
        body = [piece for line in self.transcript for piece in wrap(printable(line), width)][-room:] if room else []
        lines = header + body + [""] * (room - len(body)) + bottom
        lines = [fit(line, width) for line in lines[:height]]
        changed = [
            f"\x1b[{row + 1};1H{line}\x1b[K"
            for row, line in enumerate(lines)
            if self.frame is None or row >= len(self.frame) or self.frame[row] != line
        ]
        if cursor is None:
            place_cursor = "\x1b[?25l"
        else:
            row, column = cursor
            place_cursor = f"\x1b[{height - len(bottom) + row + 1};{column + 1}H\x1b[?25h"
        # writing nothing when nothing changed keeps tmux's activity stamp still, which pollers rely on
        if changed or place_cursor != self.cursor:
            self.terminal.write("".join(changed) + place_cursor)
        self.frame = lines
        self.cursor = place_cursor

    def bottom(self, width: int, rows: int, now: float) -> tuple[list[str], tuple[int, int] | None]:
        """The lines under the transcript (at most `rows`, when a long draft has to be cut to its end), and
        where the cursor goes in them (None: hidden)."""
        rule = RULE_CHAR * width
        if self.state == "permission":
            marks = [f" {PROMPT_MARK} ", "   "] if self.selection == 0 else ["   ", f" {PROMPT_MARK} "]
            first, second = f"{marks[0]}1. Yes", f"{marks[1]}2. No"
            hint = " Esc to cancel · Tab to amend" if self.selection == 0 else " Esc to cancel"
            dialog = [" Bash command", "", f"   {printable(self.ask_command)}", ""]
            return [rule, *dialog, " Do you want to proceed?", first, second, "", hint], None
        lines = []
        if self.state == "busy":
            elapsed = now - self.busy_started
            glyph = SPINNER_GLYPHS[int(elapsed / SPINNER_FRAME_SECONDS) % len(SPINNER_GLYPHS)]
            spinner = f"{glyph} {self.verb}…"
            if elapsed >= 1:
                spinner += f" ({int(elapsed)}s · ↓ {int(elapsed * TOKENS_PER_SECOND)} tokens)"
            lines += [spinner, ""]
        lines.append(rule)
        box = []
        for index, draft_line in enumerate(self.draft.split("\n")):
            prefix = PROMPT_MARK + NBSP if index == 0 else "  "
            box += [prefix + piece for piece in wrap(printable(draft_line), width - 2)]
        lines += box[-max(rows - len(lines) - 2, 1) :]
        if self.exit_pending_until is not None:
            footer = "  Press Ctrl-C again to exit"
        elif self.state == "busy":
            footer = "  esc to interrupt"
        else:
            footer = "  ? for shortcuts"
        lines += [rule, footer]
        cursor_row = len(lines) - 3
        cursor_column = 2 + sum(cell_width(char) for char in box[-1][2:])
        return lines, (cursor_row, min(cursor_column, width - 1))


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--log", type=Path, help="append one JSON line per prompt and event to this file")
    parser.add_argument("--work-seconds", type=float, default=2.0, help="how long a prompt keeps it busy")
    parser.add_argument("--ask-every", type=int, default=0, help="every Nth prompt opens a permission dialog")
    parser.add_argument("--ask-delay", type=float, default=0.3, help="busy time before a permission dialog")
    parser.add_argument("--start-delay", type=float, default=0.0, help="seconds before the first frame")
    parser.add_argument("--boot-cpu", type=float, default=0.0, help="seconds of busy CPU before the first frame")
    parser.add_argument("--title", help="terminal title to set (OSC 2), e.g. '✳ Claude Code'")
    parser.add_argument("--ignore-sighup", action="store_true", help="survive the pane's hangup, like Gemini")
    parser.add_argument(
        "--relaunch", action="store_true", help="run the agent in a child process, like Gemini CLI does"
    )
    parser.add_argument("--settings", help="Claude Code's --settings JSON: its hooks are run like Claude runs them")
    parser.add_argument("--sessions-dir", type=Path, help="keep a Claude-Code-like <pid>.json status file here")
    parser.add_argument(
        "--claude-dir", type=Path, help="write a Claude-Code-like transcript of its replies' usage here"
    )
    # Claude Code's way of loading Chorus's tools; the fake agent takes them and calls no MCP server.
    parser.add_argument("--mcp-config", action="append", help="Claude Code's --mcp-config file (not read)")
    parser.add_argument("--allowedTools", help="Claude Code's --allowedTools (not used)")
    parser.add_argument("--resume", help="Claude Code's --resume: the conversation id to continue")
    return parser.parse_args(argv)


def hook_commands(settings: str | None) -> dict[str, list[str]]:
    """The command hooks of a --settings JSON, by event."""
    if not settings:
        return {}
    hooks = json.loads(settings).get("hooks", {})
    return {
        event: [h["command"] for group in groups for h in group.get("hooks", []) if h.get("type") == "command"]
        for event, groups in hooks.items()
    }


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    options = parse_args(argv)
    if options.ignore_sighup:
        signal.signal(signal.SIGHUP, signal.SIG_IGN)
    if options.relaunch:
        child = [arg for arg in argv if arg != "--relaunch"]
        return subprocess.call([sys.executable, str(Path(__file__).resolve()), *child])
    terminal = Terminal(options.title)
    try:
        return FakeAgent(options, terminal).run()
    finally:
        terminal.leave()


if __name__ == "__main__":
    sys.exit(main())
