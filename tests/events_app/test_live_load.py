"""The live fan-out under load, through a real daphne and real websockets: 200 clients while another process
appends 50 events a second. Every client gets every event, or is told by a resync snapshot that it missed some:
never a silent gap. (Latency under this load is measured by bench/live.py --clients 200, not here.)"""

import pytest

from tests import load

pytestmark = pytest.mark.integration


def test_two_hundred_clients_at_fifty_events_a_second_see_no_silent_gap(server, subprocess_env):
    result = load.run(server, subprocess_env, clients=200, events=250, interval=0.02)

    assert len(result.committed) == 250
    assert [c.errors for c in result.clients if c.errors] == []
    assert result.lost() == 0, f"{result.lost()} events missing at clients that were never told"
    assert all(c.whole(result.committed) for c in result.clients)
