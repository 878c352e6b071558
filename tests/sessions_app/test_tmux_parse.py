"""The tmux adapter's pure parts: argument building, text cleaning and output parsing, without tmux."""

import dataclasses
import subprocess
from pathlib import Path

import pytest

from sessions_app.tmux import (
    ALLOWED_KEYS,
    CAPTURE_BATCH,
    LITERAL_CHUNK_CHARS,
    PANE_FIELDS,
    SEPARATOR,
    KeyNotAllowed,
    NoPanes,
    NoServer,
    NoSessions,
    PaneGone,
    PaneInfo,
    PaneScreen,
    SessionExists,
    Tmux,
    TmuxError,
    TmuxMissing,
    argument,
    capture_commands,
    clean_literal,
    clean_paste,
    control_end,
    control_poll_lines,
    field_separator,
    needs_capture,
    pane_format,
    parse_captures,
    parse_control_poll,
    parse_panes,
    record_end,
    socket_args,
    split_text,
    tmux_error,
)

TOKEN = "0a1b2c3d4e5f"


class NoTmux:
    """A runner where tmux is not installed; it keeps the command lines that would have run."""

    def __init__(self):
        self.commands: list[list[str]] = []

    def __call__(self, command, **_options):
        self.commands.append(command)
        raise FileNotFoundError(command[0])


def pane_line(**overrides: str) -> str:
    fields = {
        "session_name": "chorus-a",
        "window_index": "0",
        "pane_id": "%3",
        "pid": "4242",
        "current_command": "claude",
        "current_path": "/work/project",
        "dead": "0",
        "dead_status": "",
        "dead_signal": "",
        "title": "✳ Claude Code",
        "alternate_on": "1",
        "cursor_x": "2",
        "cursor_y": "47",
        "history_size": "0",
        "width": "200",
        "height": "50",
        "in_mode": "0",
        "activity": "1795500390",
        "tag": "session-7",
    }
    fields.update(overrides)
    return field_separator(TOKEN).join(fields.values()) + record_end(TOKEN) + "\n"


def screen(**overrides) -> PaneScreen:
    values = dict(pane_id="%3", text="", activity=1000, dead=False, width=200, height=50, taken_at=1001.5)
    values.update(overrides)
    return PaneScreen(**values)


def info(**overrides) -> PaneInfo:
    pane = parse_panes(pane_line(activity="1000"), TOKEN)[0]
    return dataclasses.replace(pane, **overrides)


# --- sockets and arguments


@pytest.mark.parametrize(
    ("socket", "expected"),
    [
        (None, []),
        ("chorus", ["-L", "chorus"]),
        ("/tmp/chorus/socket", ["-S", "/tmp/chorus/socket"]),
        (Path("/run/chorus.sock"), ["-S", "/run/chorus.sock"]),
        ("./here.sock", ["-S", "./here.sock"]),
    ],
)
def test_socket_args(socket, expected):
    assert socket_args(socket) == expected


def test_empty_socket_name_is_refused():
    with pytest.raises(ValueError):
        socket_args("")


@pytest.mark.parametrize(
    ("value", "sent"),
    [
        ("plain", "plain"),
        ("a;", "a\\;"),
        (";", "\\;"),
        # tmux turns a final backslash-semicolon into ";", so an original one gets one more backslash
        ("a\\;", "a\\\\;"),
        ("a;b", "a;b"),
        ("", ""),
    ],
)
def test_argument_protects_a_final_semicolon(value, sent):
    assert argument(value) == sent


def test_attach_command_is_shell_quoted():
    assert Tmux().attach_command("chorus-a") == "tmux attach -t chorus-a"
    assert Tmux("chorus").attach_command("s1") == "tmux -L chorus attach -t s1"
    assert Tmux("/tmp/my dir/sock").attach_command("s1") == "tmux -S '/tmp/my dir/sock' attach -t s1"
    assert Tmux().attach_command("my work") == "tmux attach -t 'my work'"


@pytest.mark.parametrize("name", ["", "a:b", "a.b", "x;", "tab\there", "esc\x1b", "new\nline"])
def test_bad_session_names_are_refused(name):
    with pytest.raises(ValueError, match="bad tmux session name"):
        Tmux(run=NoTmux()).has_session(name)


@pytest.mark.parametrize("name", ["chorus-a", "0", "my work", "-flag", "ünï"])
def test_any_name_tmux_keeps_as_is_reaches_tmux(name):
    # names of sessions the user started, to adopt
    runner = NoTmux()
    with pytest.raises(TmuxMissing):
        Tmux("chorus", run=runner).has_session(name)
    assert runner.commands == [["tmux", "-u", "-L", "chorus", "has-session", "-t", f"={name}"]]


@pytest.mark.parametrize("pane_id", ["", "3", "%", "%3;", "-t", "%3 ", "=a:"])
def test_bad_pane_ids_are_refused_before_tmux_runs(pane_id):
    with pytest.raises(ValueError):
        Tmux(run=NoTmux()).send_text(pane_id, "hello")


@pytest.mark.parametrize("key", ["C-z", "F1", "Enter ; kill-server", "-t", "enter", "M-x", "q", "10"])
def test_keys_outside_the_allowlist_are_refused_before_tmux_runs(key):
    with pytest.raises(KeyNotAllowed, match="not allowed"):
        Tmux(run=NoTmux()).send_keys("%1", "Enter", key)


def test_allowlist_holds_what_dialogs_need():
    assert {"Enter", "Escape", "Up", "Down", "Tab", "BTab", "C-c", "y", "n", "1", "2"} <= ALLOWED_KEYS


class ExitingServer:
    """A runner whose server is exiting for the first `fails` commands (its socket still answers), then answers
    new-session as a fresh server does."""

    def __init__(self, fails: int):
        self.fails = fails
        self.commands: list[list[str]] = []

    def __call__(self, command, **_options):
        self.commands.append(command)
        if len(self.commands) <= self.fails:
            return subprocess.CompletedProcess(command, 1, b"", b"server exited unexpectedly\n")
        token = command[-1].split(SEPARATOR)[1]
        return subprocess.CompletedProcess(command, 0, pane_line(session_name="s1").replace(TOKEN, token).encode(), b"")


def test_new_session_sent_to_a_server_that_is_exiting_is_sent_again_to_the_next():
    runner = ExitingServer(fails=2)
    pane = Tmux("chorus", run=runner).new_session("s1", ["sleep", "60"])
    assert pane.session_name == "s1"
    assert len(runner.commands) == 3
    assert runner.commands[0] == runner.commands[2]


def test_a_server_that_never_comes_back_is_an_error_after_a_few_tries():
    runner = ExitingServer(fails=100)
    with pytest.raises(NoServer, match="server exited unexpectedly"):
        Tmux("chorus", run=runner).new_session("s1", ["sleep", "60"])
    assert len(runner.commands) == 5


def test_missing_tmux_says_how_to_install_it():
    with pytest.raises(TmuxMissing, match="apt-get install tmux / brew install tmux"):
        Tmux(run=NoTmux()).list_panes()


# --- cleaning text


def test_clean_literal_removes_every_control_character():
    text = "a\x00b\tc\nd\re\x1bf\x7fg\x80h\x9bi\x9fj"
    assert clean_literal(text) == "abcdefghij"


def test_clean_literal_keeps_printable_text_and_key_names():
    text = "C-c Enter -t %1 ; \\; #{pane_id} $HOME ~ { } é 中文 🎉 \u00a0nbsp \u2028"
    assert clean_literal(text) == text


def test_clean_literal_defuses_a_bracketed_paste_end():
    assert clean_literal("safe\x1b[201~evil\n") == "safe[201~evil"


def test_clean_paste_keeps_line_breaks_and_tabs_but_not_escape():
    text = "first\r\nsecond\rthird\n\tindented\x1b[201~evil\x9b201~\x03\x00\n\n"
    assert clean_paste(text) == "first\nsecond\nthird\n\tindented[201~evil201~"


def test_clean_paste_drops_only_trailing_line_breaks():
    assert clean_paste("\n\nbody\n\n  \n\n") == "\n\nbody\n\n  "


def test_split_text_keeps_every_character_in_order():
    text = "é" * (LITERAL_CHUNK_CHARS * 2 + 5)
    chunks = split_text(text)
    assert [len(chunk) for chunk in chunks] == [LITERAL_CHUNK_CHARS, LITERAL_CHUNK_CHARS, 5]
    assert "".join(chunks) == text
    # a chunk is one argument of a message tmux caps at 16 KiB, even at 4 bytes per character
    assert LITERAL_CHUNK_CHARS * 4 < 16 * 1024 - 1024


# --- list-panes


def test_pane_format_and_pane_info_agree():
    assert len(PANE_FIELDS) == len(dataclasses.fields(PaneInfo))
    assert pane_format(TOKEN).startswith(PANE_FIELDS[0] + field_separator(TOKEN))
    assert pane_format(TOKEN).endswith(PANE_FIELDS[-1] + record_end(TOKEN))


def test_parse_panes_reads_every_field():
    output = pane_line() + pane_line(pane_id="%4", dead="1", dead_status="0", tag="", title="")
    first, second = parse_panes(output, TOKEN)
    assert first == PaneInfo(
        session_name="chorus-a",
        window_index=0,
        pane_id="%3",
        pid=4242,
        current_command="claude",
        current_path="/work/project",
        dead=False,
        dead_status=None,
        dead_signal=None,
        title="✳ Claude Code",
        alternate_on=True,
        cursor_x=2,
        cursor_y=47,
        history_size=0,
        width=200,
        height=50,
        in_mode=False,
        activity=1795500390,
        tag="session-7",
    )
    assert (second.pane_id, second.dead, second.dead_status, second.tag, second.title) == ("%4", True, 0, None, "")


def test_parse_panes_keeps_spaces_and_symbols_in_values():
    (pane,) = parse_panes(pane_line(title="  Ready (my folder)   ", current_path="/a b/c|d"), TOKEN)
    assert pane.title == "  Ready (my folder)   "
    assert pane.current_path == "/a b/c|d"


def test_values_holding_newlines_or_the_separator_are_read_whole():
    hostile = "evil\x1f%9\x1fname\nnext line\x1e"
    (pane,) = parse_panes(pane_line(current_command=hostile, current_path="/tmp/a\nb", tag=hostile), TOKEN)
    assert (pane.current_command, pane.current_path, pane.tag) == (hostile, "/tmp/a\nb", hostile)


def test_parse_panes_skips_a_missing_target():
    empty = field_separator(TOKEN) * (len(PANE_FIELDS) - 1) + record_end(TOKEN) + "\n"
    assert parse_panes(empty, TOKEN) == []
    assert parse_panes("", TOKEN) == []


def test_parse_panes_refuses_output_it_cannot_read():
    with pytest.raises(TmuxError, match="unexpected pane line"):
        parse_panes(pane_line().replace(record_end(TOKEN), field_separator(TOKEN) + "extra" + record_end(TOKEN)), TOKEN)
    with pytest.raises(TmuxError, match="unexpected pane line"):
        parse_panes("garbage without a record end\n", TOKEN)


# --- batched capture


def test_capture_commands_chain_a_marker_and_a_capture_per_pane():
    args = capture_commands(["%1", "%22"], "tok")
    assert args.count(";") == 3
    assert args[:4] == ["display-message", "-p", "-t", "%1"]
    assert args[4] == SEPARATOR.join(["tok", "#{pane_id}", "#{window_activity}", "#{pane_dead}"]) + (
        SEPARATOR + "#{pane_width}" + SEPARATOR + "#{pane_height}"
    )
    assert args[5:10] == [";", "capture-pane", "-p", "-t", "%1"]
    assert args[-4:] == ["capture-pane", "-p", "-t", "%22"]


def test_capture_markers_hold_no_literal_percent():
    # display-message runs its format through strftime: a literal "%4" would come back mangled
    (marker,) = {arg for arg in capture_commands(["%4", "%10"], "tok") if arg.startswith("tok")}
    assert "%" not in marker


def marker(token: str, found: str, activity: int = 1000, dead: str = "0") -> str:
    return SEPARATOR.join((token, found, str(activity), dead, "200", "50"))


def test_parse_captures_splits_screens_at_markers():
    output = "\n".join(
        [
            marker("tok", "%1"),
            "first row",
            "",
            "\u276f\u00a0",
            marker("tok", "%2", activity=1001, dead="1"),
            "",
            "Pane is dead (status 0)",
        ]
    )
    screens = parse_captures(output + "\n", "tok", ["%1", "%2"], taken_at=1002.0)
    assert screens["%1"] == PaneScreen("%1", "first row\n\n\u276f\u00a0\n", 1000, False, 200, 50, 1002.0)
    assert screens["%2"].text == "\nPane is dead (status 0)\n"
    assert screens["%2"].dead
    assert screens["%2"].activity == 1001


def test_parse_captures_keeps_trailing_blank_rows():
    output = marker("tok", "%1") + "\nrow\n\n\n"
    assert parse_captures(output, "tok", ["%1"], 0.0)["%1"].text == "row\n\n\n"


def test_parse_captures_keeps_the_blank_rows_of_a_screen_another_one_follows():
    output = "\n".join([marker("tok", "%1"), "row", "", "", marker("tok", "%2"), "", marker("tok", "%3")]) + "\n"
    screens = parse_captures(output, "tok", ["%1", "%2", "%3"], 0.0)
    assert [screen.text for screen in screens.values()] == ["row\n\n\n", "\n", ""]


def test_parse_captures_leaves_out_a_pane_tmux_did_not_find():
    # display-message prints empty values for a missing pane; the capture after it failed and ended the list
    output = "\n".join([marker("tok", "%1"), "one", marker("tok", "")]) + "\n"
    assert list(parse_captures(output, "tok", ["%1", "%9", "%2"], 0.0)) == ["%1"]


def test_parse_captures_refuses_a_marker_for_another_pane():
    output = "\n".join([marker("tok", "%1"), "one", marker("tok", "%7"), "seven"]) + "\n"
    assert list(parse_captures(output, "tok", ["%1", "%2"], 0.0)) == ["%1"]


def test_parse_captures_ignores_lines_marked_with_another_token():
    fake = marker("other", "%2")
    output = "\n".join([marker("tok", "%1"), fake, "row"]) + "\n"
    screens = parse_captures(output, "tok", ["%1", "%2"], 0.0)
    assert list(screens) == ["%1"]
    assert screens["%1"].text == fake + "\nrow\n"


def test_capture_batches_fit_in_one_tmux_message():
    args = capture_commands([f"%{n}" for n in range(1000000, 1000000 + CAPTURE_BATCH)], "f" * 16)
    assert sum(len(arg.encode()) + 1 for arg in args) < 12 * 1024


# --- a poll through a control client


def test_control_poll_lines_list_every_pane_and_capture_the_named_ones_in_one_command_list():
    first, end = control_poll_lines(TOKEN, ["%1", "%22"])
    assert first == (
        f"display-message -p {TOKEN} ; list-panes -a -F '{pane_format(TOKEN)}' ; "
        "capture-pane -p -t %1 ; capture-pane -p -t %22"
    )
    assert end == f"display-message -p {control_end(TOKEN)}"
    with pytest.raises(ValueError, match="bad tmux pane id"):
        control_poll_lines(TOKEN, ["%1 ; kill-server"])


def reply(number: int, *rows: str, error: bool = False) -> list[str]:
    """One command's block as a control client prints it."""
    return [f"%begin 1700000000 {number} 1", *rows, f"%{'error' if error else 'end'} 1700000000 {number} 1"]


def pane_record(pane_id: str, height: int, title: str = "") -> str:
    return pane_line(pane_id=pane_id, height=str(height), title=title).removesuffix("\n")


def control_output(*blocks: list[str], before: tuple[str, ...] = ("%sessions-changed",)) -> str:
    """What the client printed: notifications, the start marker's block, the blocks given, the end marker's."""
    lines = [*before, *reply(10, TOKEN)]
    for block in blocks:
        lines += block
    return "\n".join([*lines, *reply(99, control_end(TOKEN))]) + "\n"


def test_parse_control_poll_reads_panes_and_screens_by_their_rows():
    # a screen row may look like a framing line: rows are counted, never searched for
    rows = ["%end 1700000000 12 1", "%begin 1700000000 13 1", "\u276f\u00a0"]
    output = control_output(
        reply(11, pane_record("%1", 3), pane_record("%2", 2)), reply(12, *rows), reply(13, "", "two")
    )
    panes, screens = parse_control_poll(output, TOKEN, ["%1", "%2"], taken_at=1002.0)
    assert [pane.pane_id for pane in panes] == ["%1", "%2"]
    assert screens["%1"] == PaneScreen("%1", "".join(f"{row}\n" for row in rows), 1795500390, False, 200, 3, 1002.0)
    assert screens["%2"].text == "\ntwo\n"


def test_parse_control_poll_leaves_out_a_pane_that_has_gone_and_those_after_it():
    # %5 is not listed: its capture failed and tmux abandoned the rest of the list
    output = control_output(
        reply(11, pane_record("%1", 1), pane_record("%2", 1)),
        reply(12, "one"),
        reply(13, "can't find pane: %5", error=True),
    )
    panes, screens = parse_control_poll(output, TOKEN, ["%1", "%5", "%2"], taken_at=0.0)
    assert len(panes) == 2
    assert list(screens) == ["%1"]


def test_parse_control_poll_reads_a_title_that_holds_framing_lines():
    title = "x\n%end 1700000000 11 1\n%begin 1700000000 12 1"
    output = control_output(reply(11, *pane_record("%1", 1, title=title).split("\n")), reply(12, "row"))
    panes, screens = parse_control_poll(output, TOKEN, ["%1"], taken_at=0.0)
    assert [pane.title for pane in panes] == [title]
    assert screens["%1"].text == "row\n"


def test_parse_control_poll_raises_what_list_panes_said():
    output = control_output(reply(11, "no current target", error=True))
    with pytest.raises(NoSessions):
        parse_control_poll(output, TOKEN, [], taken_at=0.0)


@pytest.mark.parametrize(
    "output",
    [
        "%exit\n",
        f"{TOKEN}\n%end 1 1 1\n",
        control_output(reply(11, pane_record("%1", 3)), reply(12, "only one row")),
    ],
)
def test_parse_control_poll_refuses_output_the_poll_cannot_produce(output):
    with pytest.raises(TmuxError):
        parse_control_poll(output, TOKEN, ["%1"], taken_at=0.0)


# --- what changed


def test_needs_capture_without_a_previous_screen():
    assert needs_capture(info(), None)


def test_no_capture_needed_when_nothing_was_written_since():
    # taken a second or more after the last output, and the stamp has not moved
    assert not needs_capture(info(activity=1000), screen(activity=1000, taken_at=1001.0))


def test_capture_needed_when_taken_in_the_same_second_as_the_last_output():
    # more output may have come later in second 1000 without moving the whole-second stamp
    assert needs_capture(info(activity=1000), screen(activity=1000, taken_at=1000.7))


@pytest.mark.parametrize(
    "change",
    [
        {"activity": 1003},
        {"dead": True},
        {"width": 120},
        {"height": 40},
    ],
)
def test_capture_needed_after_output_death_or_resize(change):
    assert needs_capture(info(**{"activity": 1000, **change}), screen(activity=1000, taken_at=1005.0))


# --- errors


@pytest.mark.parametrize(
    ("stderr", "kind"),
    [
        ("no server running on /tmp/tmux-0/chorus\n", NoServer),
        ("error connecting to /tmp/tmux-0/nosuch (No such file or directory)\n", NoServer),
        ("error connecting to /tmp/chorus/socket (Connection refused)\n", NoServer),
        ("server exited unexpectedly\n", NoServer),
        ("no current target\n", NoSessions),
        ("can't find pane: %99\n", PaneGone),
        ("can't find session: chorus-a\n", PaneGone),
        ("can't find window: 3\n", PaneGone),
        ("no such session: =s1\n", PaneGone),
        ("duplicate session: chorus-a\n", SessionExists),
        ("error connecting to /tmp/tmux-0/x (Permission denied)\n", TmuxError),
        ("command too long\n", TmuxError),
        ("", TmuxError),
    ],
)
def test_tmux_error_classification(stderr, kind):
    error = tmux_error(stderr)
    assert type(error) is kind
    assert str(error) == (stderr.strip() or "tmux failed without a message")


def test_no_server_and_no_sessions_are_no_panes_at_all():
    assert issubclass(NoServer, NoPanes) and issubclass(NoSessions, NoPanes) and issubclass(NoPanes, PaneGone)


def test_refuses_to_kill_the_users_default_server():
    with pytest.raises(ValueError, match="default tmux server"):
        Tmux(run=NoTmux()).kill_server()
