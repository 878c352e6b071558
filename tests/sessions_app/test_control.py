"""tmux control mode as pure functions (sessions_app.control) and the terminal stream's rules that need no tmux:
output unescaped, replies and notifications told apart, keystrokes as hexadecimal bytes, a viewer's first picture,
a viewer that falls behind repainted, and input refused while Chorus runs read-only."""

import pytest

from events_app.errors import ReadOnly
from sessions_app import control
from sessions_app.terminal import LAG_BYTES, PaneStream, Viewer
from sessions_app.tmux import Tmux
from tests.sessions_app.test_tmux_parse import NoTmux


def test_output_is_unescaped_to_the_bytes_the_program_wrote():
    line = rb"%output %12 a;\033[31mred\134n\015\012" + "é".encode()
    assert control.parse_line(line) == control.Output("%12", b"a;\x1b[31mred\\n\r\n" + "é".encode())
    # an escaped backslash followed by digits stays a backslash and digits
    assert control.unescape(rb"\134012") == b"\\012"


def test_replies_and_notifications_are_told_apart():
    assert control.parse_line(b"%begin 1796191567 287 1") == control.Begin("287", ours=True)
    assert control.parse_line(b"%begin 1796191567 264 0") == control.Begin("264", ours=False)
    assert control.parse_line(b"%end 1796191567 287 1") == control.End("287", error=False)
    assert control.parse_line(b"%error 1796191567 292 1") == control.End("292", error=True)
    layout = b"%layout-change @0 aafd,120x40,0,0,0 aafd,120x40,0,0,0 *"
    assert control.parse_line(layout) == control.LayoutChanged("@0")
    assert control.parse_line(b"%exit") == control.Exited("")
    assert control.parse_line(b"%exit detached") == control.Exited("detached")
    assert control.parse_line(b"%session-changed $0 t1") == control.Other(b"%session-changed $0 t1")
    assert control.parse_line(b"%not-a-pane") == control.Other(b"%not-a-pane")
    assert control.parse_line(b"120 40 0 8 1 0 0") == control.Text(b"120 40 0 8 1 0 0")


def test_keystrokes_become_hexadecimal_bytes_so_nothing_is_tmux_syntax_or_a_key_name():
    assert control.input_commands("%3", "a;\x03\x1b#{x} é\r") == [
        "send-keys -H -t %3 61 3b 03 1b 23 7b 78 7d 20 c3 a9 0d"
    ]
    long = control.input_commands("%3", "x" * (control.INPUT_CHUNK_BYTES + 1))
    assert [command.count(" 78") for command in long] == [control.INPUT_CHUNK_BYTES, 1]
    assert control.input_commands("%3", "") == []
    with pytest.raises(ValueError, match="pane id"):
        control.input_commands("%3 ; kill-server", "x")


def test_a_first_picture_paints_the_screen_and_puts_the_cursor_and_modes_back():
    facts = control.parse_facts([b"80 3 4 1 1 1 1"])
    assert facts == control.PaneFacts(80, 3, 4, 1, cursor_visible=True, alternate=True, application_cursor=True)
    painted = control.snapshot(facts, [b"\x1b[1mone", b"two", b"three", b"beyond the pane"])
    assert painted == (
        b"\x1b[0m\x1b[?1049h\x1b[?1h\x1b[H\x1b[2J\x1b[1mone\x1b[0m\r\ntwo\x1b[0m\r\nthree\x1b[0m\x1b[2;5H\x1b[?25h"
    )
    hidden = control.snapshot(control.parse_facts([b"80 3 0 0 0 0 0"]), [])
    assert hidden.startswith(b"\x1b[0m\x1b[?1049l\x1b[?1l") and hidden.endswith(b"\x1b[1;1H\x1b[?25l")


def test_commands_to_size_and_read_the_pane_name_only_a_checked_pane():
    assert control.resize_command("%3", 100, 30) == "resize-window -t %3 -x 100 -y 30"
    assert control.capture_command("%3") == "capture-pane -p -e -t %3"
    assert control.facts_command("%3").startswith("display-message -p -t %3 '#{pane_width}")
    with pytest.raises(ValueError):
        control.resize_command("x", 1, 1)


def test_the_control_client_attaches_read_only_to_the_panes_session():
    assert Tmux("/tmp/s").control_argv("%3") == ["tmux", "-u", "-S", "/tmp/s", "-C", "attach-session", "-r", "-t", "%3"]


@pytest.mark.asyncio
async def test_a_viewer_that_falls_behind_gets_a_new_picture_instead_of_a_backlog():
    viewer = Viewer(stream=None)
    viewer.feed(b"x" * 10)
    assert bytes(viewer.pending) == b"x" * 10 and not viewer.resync
    viewer.feed(b"y" * LAG_BYTES)
    assert viewer.resync and viewer.pending == bytearray()
    viewer.feed(b"lost meanwhile")
    assert viewer.pending == bytearray()
    viewer.picture(control.parse_facts([b"80 24 0 0 1 0 0"]), b"picture")
    assert not viewer.resync
    assert await viewer.next() == ((80, 24), b"picture", None)


@pytest.mark.asyncio
async def test_a_read_only_chorus_types_nothing_through_a_terminal(settings):
    settings.CHORUS_READ_ONLY = True
    runner = NoTmux()
    stream = PaneStream(Tmux(run=runner), "%3", on_close=lambda stream: None)
    with pytest.raises(ReadOnly, match="tmux send-keys would change a terminal"):
        await stream.type("rm -rf ~\r")
    with pytest.raises(ReadOnly, match="tmux resize-window would change a terminal"):
        await stream.resize(80, 24)
    assert runner.commands == []
