"""The terminal relay without tmux or sockets: the web server's end (Link) wired straight to the worker's (Relay),
the worker's terminals a stand-in. Through a real worker, daphne and tmux: tests/pages/test_screens_from_worker.py
and tests/pages/test_terminal.py."""

import asyncio

import pytest

from events_app.errors import ReadOnly
from sessions_app import relay
from sessions_app.terminal import LAG_BYTES, TerminalGone

pytestmark = pytest.mark.asyncio
TIMEOUT = 5


class StandInViewer:
    """What sessions_app.terminal.Viewer gives the worker's relay."""

    def __init__(self, read_only: bool = False):
        self.read_only = read_only
        self.items: asyncio.Queue = asyncio.Queue()
        self.typed: list[str] = []
        self.sizes: list[tuple[int, int]] = []
        self.repaints = 0
        self.left = asyncio.Event()

    async def next(self):
        return await self.items.get()

    async def type(self, text: str) -> None:
        if self.read_only:
            raise ReadOnly("tmux send-keys would change a terminal")
        self.typed.append(text)

    async def resize(self, columns: int, rows: int) -> None:
        self.sizes.append((columns, rows))

    def repaint(self) -> None:
        self.repaints += 1

    def leave(self) -> None:
        self.left.set()


class StandInTerminals:
    def __init__(self, **options):
        self.viewers: dict[str, StandInViewer] = {}
        self.options = options

    async def view(self, pane_id: str) -> StandInViewer:
        if pane_id != "%1":
            raise TerminalGone(f"can't find pane: {pane_id}")
        viewer = self.viewers[pane_id] = StandInViewer(**self.options)
        return viewer


def wired(**options) -> tuple[relay.Link, StandInTerminals]:
    """A web server's link and the worker's relay, each writing straight into the other."""
    terminals = StandInTerminals(**options)
    link: relay.Link

    async def to_web_text(text: str) -> None:
        link.received_text(text)

    async def to_web_bytes(data: bytes) -> None:
        link.received_bytes(data)

    worker = relay.Relay(to_web_text, to_web_bytes, terminals)
    link = relay.Link(worker.received)
    return link, terminals


async def everything(viewer, until: bytes) -> tuple[list, bytes]:
    sizes, data = [], b""
    while until not in data:
        size, more, ended = await asyncio.wait_for(viewer.next(), TIMEOUT)
        assert ended is None
        sizes += [size] if size else []
        data += more
    return sizes, data


async def test_the_picture_and_every_byte_after_it_reach_the_web_servers_viewer_in_order():
    link, terminals = wired()
    viewer = await link.view("%1")
    worker_side = terminals.viewers["%1"]
    await worker_side.items.put(((80, 24), b"\x1b[Hpicture", None))
    await worker_side.items.put((None, b" then output", None))
    assert await everything(viewer, b"output") == ([(80, 24)], b"\x1b[Hpicture then output")


async def test_keystrokes_and_sizes_reach_the_workers_viewer_and_a_refusal_comes_back():
    link, terminals = wired()
    viewer = await link.view("%1")
    await viewer.type("ls\r")
    await viewer.resize(100, 30)
    assert terminals.viewers["%1"].typed == ["ls\r"]
    assert terminals.viewers["%1"].sizes == [(100, 30)]
    read_only_link, _ = wired(read_only=True)
    watcher = await read_only_link.view("%1")
    with pytest.raises(relay.TerminalRefused, match="read-only"):
        await watcher.type("rm -rf /\r")


async def test_a_pane_the_worker_cannot_stream_is_said_to_be_gone():
    link, _ = wired()
    with pytest.raises(TerminalGone, match="can't find pane: %9"):
        await link.view("%9")


async def test_without_a_worker_link_a_terminal_cannot_open():
    with pytest.raises(TerminalGone, match="no worker of host laptop is connected"):
        await relay.Links().view("laptop", "%1")


async def test_a_stream_that_ends_on_the_worker_ends_on_the_web_server():
    link, terminals = wired()
    viewer = await link.view("%1")
    await terminals.viewers["%1"].items.put((None, b"", "the terminal ended (exited)"))
    assert await asyncio.wait_for(viewer.next(), TIMEOUT) == (None, b"", "the terminal ended (exited)")


async def test_a_worker_that_goes_away_ends_its_terminals_and_a_new_link_takes_over():
    links = relay.Links()
    first, _ = wired()
    links.attach("laptop", first)
    viewer = await links.view("laptop", "%1")
    second, _ = wired()
    links.attach("laptop", second)
    assert (await asyncio.wait_for(viewer.next(), TIMEOUT))[2] == "the worker connected again"
    assert await links.view("laptop", "%1") is not None
    links.detach("laptop", second)
    with pytest.raises(TerminalGone, match="no worker"):
        await links.view("laptop", "%1")


async def test_each_hosts_worker_relays_the_terminals_of_its_own_host():
    """Pane ids are each tmux server's own: %1 of one host is not %1 of another."""
    links = relay.Links()
    laptop, laptop_terminals = wired()
    far, far_terminals = wired()
    links.attach("laptop", laptop)
    links.attach("ci-2", far)
    await links.view("ci-2", "%1")
    assert (list(far_terminals.viewers), list(laptop_terminals.viewers)) == (["%1"], [])
    links.detach("ci-2", far)
    with pytest.raises(TerminalGone, match="no worker of host ci-2"):
        await links.view("ci-2", "%1")
    assert await links.view("laptop", "%1") is not None


async def test_a_viewer_that_leaves_ends_the_workers_viewer():
    link, terminals = wired()
    viewer = await link.view("%1")
    viewer.leave()
    await asyncio.wait_for(terminals.viewers["%1"].left.wait(), TIMEOUT)


async def test_a_browser_that_cannot_keep_up_gets_a_new_picture_instead_of_a_backlog():
    link, terminals = wired()
    viewer = await link.view("%1")
    worker_side = terminals.viewers["%1"]
    await worker_side.items.put((None, b"x" * (LAG_BYTES + 1), None))
    await worker_side.items.put((None, b"dropped", None))
    while not worker_side.repaints:
        await asyncio.sleep(0.01)
    await worker_side.items.put(((80, 24), b"fresh picture", None))
    assert await everything(viewer, b"fresh") == ([(80, 24)], b"fresh picture")


async def test_the_worker_passes_over_what_is_not_the_protocol_and_relays_on():
    terminals = StandInTerminals()
    answers: list[str] = []

    async def to_web(text) -> None:
        answers.append(text)

    worker = relay.Relay(to_web, to_web, terminals)
    for nonsense in ("not json", "[1, 2]", '{"input": 1, "text": "x", "resize": 1}', '{"resize": 1, "size": 5}'):
        await worker.received(nonsense)
    assert answers == ['{"refused": null, "message": "that terminal is not open"}'] * 2
    await worker.received('{"open": 7, "pane": "%1"}')
    while len(answers) < 3:
        await asyncio.sleep(0.01)
    assert answers[-1] == '{"opened": 7}'


async def test_a_worker_may_link_to_several_web_servers():
    assert relay.web_urls("http://127.0.0.1:8765") == ["http://127.0.0.1:8765"]
    assert relay.web_urls(" http://127.0.0.1:8765, https://ci-2.example ,") == [
        "http://127.0.0.1:8765",
        "https://ci-2.example",
    ]
    assert relay.TerminalRelay("http://a:1,http://b:2").web_urls == ["http://a:1", "http://b:2"]


async def test_the_link_is_a_websocket_on_the_web_servers_own_scheme():
    assert relay.link_url("http://127.0.0.1:8765") == "ws://127.0.0.1:8765/ws/terminal/worker/"
    assert relay.link_url("https://chorus.example:443/") == "wss://chorus.example:443/ws/terminal/worker/"
