"""Many websocket clients following the live log at once, while another process appends: the load test of the live
fan-out (tests/events_app/test_live_load.py) and its benchmark (bench/live.py --clients).

Every client subscribes to the appended counter's stream and notes, for each event, when it arrived; a resync
snapshot is a gap the server announced. A client is whole if it got every event or was told it missed some.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import subprocess
import sys
import time
import uuid

from tests.support import ROOT, ServerProcess, live_events

# Seconds a client waits for more once the appender has finished (while it runs, a quiet client keeps waiting).
QUIET = 10.0


@dataclasses.dataclass
class Client:
    received: dict[int, float] = dataclasses.field(default_factory=dict)
    resyncs: int = 0
    errors: list[str] = dataclasses.field(default_factory=list)

    def missing(self, committed: dict[int, float]) -> int:
        return sum(1 for version in committed if version not in self.received)

    def whole(self, committed: dict[int, float]) -> bool:
        return not self.errors and (self.missing(committed) == 0 or self.resyncs > 0)


@dataclasses.dataclass
class Load:
    committed: dict[int, float]
    clients: list[Client]

    def latencies_ms(self) -> list[float]:
        return [
            (client.received[version] - at) * 1000
            for client in self.clients
            for version, at in self.committed.items()
            if version in client.received
        ]

    def lost(self) -> int:
        """Events missing at clients that were never told they missed something: silent gaps."""
        return sum(c.missing(self.committed) for c in self.clients if c.resyncs == 0 and not c.errors)

    def announced(self) -> int:
        return sum(c.missing(self.committed) for c in self.clients if c.resyncs > 0)


async def _follow(
    server: ServerProcess, cookie: str, counter: str, client: Client, ready: asyncio.Event, last: int, done
) -> None:
    from websockets.asyncio.client import connect

    try:
        async with connect(
            f"ws://127.0.0.1:{server.port}/ws/live/",
            origin=server.url,
            additional_headers={"Cookie": cookie},
            open_timeout=30,
            max_queue=None,
        ) as ws:
            await ws.send(json.dumps({"subscribe": [f"counter:{counter}"]}))
            json.loads(await ws.recv())  # the snapshot of the subscription
            ready.set()
            while last not in client.received:
                try:
                    async with asyncio.timeout(QUIET):
                        message = json.loads(await ws.recv())
                except TimeoutError:
                    if done():
                        client.errors.append(f"nothing for {QUIET:.0f} s after the last append")
                        return
                    continue
                now = time.time()
                for event in live_events(message):
                    client.received[event["version"]] = now
                if message["type"] == "snapshot" and message.get("resync"):
                    client.resyncs += 1
    except Exception as exc:
        client.errors.append(repr(exc))


async def _run(server: ServerProcess, env: dict, clients: int, events: int, interval: float) -> Load:
    cookie = server.session_cookie()
    counter = f"load-{uuid.uuid4().hex[:8]}"  # a new stream per run: its versions are the appends' numbers
    followers = [Client() for _ in range(clients)]
    readies = [asyncio.Event() for _ in followers]
    finished = False
    last = events + 1  # the counter's opening is version 1, each increment one more
    tasks = [
        asyncio.create_task(_follow(server, cookie, counter, client, ready, last, lambda: finished))
        for client, ready in zip(followers, readies, strict=True)
    ]
    await asyncio.wait_for(asyncio.gather(*(ready.wait() for ready in readies)), timeout=120)
    appender = await asyncio.create_subprocess_exec(
        sys.executable,
        str(ROOT / "manage.py"),
        "demo_append",
        counter,
        "--count",
        str(events),
        "--interval",
        str(interval),
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    out, err = await appender.communicate()
    if appender.returncode != 0:
        raise RuntimeError(f"demo_append failed: {err.decode()}")
    finished = True
    await asyncio.gather(*tasks)
    committed = {index + 2: float(line) for index, line in enumerate(out.decode().split())}
    return Load(committed, followers)


def run(server: ServerProcess, env: dict, *, clients: int, events: int, interval: float) -> Load:
    """`clients` websocket clients follow `events` appends, one every `interval` seconds, by another process."""
    return asyncio.run(_run(server, env, clients, events, interval))
