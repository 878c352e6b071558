"""Screen news: storing screens rings the screen followers, in this process and (by doorbell) in others, and the
stored screens are what pages read. No tmux, no process: the doorbells are unix sockets in the test's data
directory."""

import asyncio
import time

import pytest
from channels.db import database_sync_to_async
from django.db import transaction

from sessions_app import mirror, screens, selectors

TIMEOUT = 5


@pytest.mark.django_db
def test_stored_screens_are_what_pages_read_and_each_new_text_counts():
    mirror.record({"a": ("%1", "one\n", 1.0)})
    mirror.record({"a": ("%1", "two\n", 2.0), "b": ("%2", "bee\n", 2.0)})
    stored = selectors.screens(["a", "b", "c"])
    assert {name: (row.pane_id, row.text, row.seq) for name, row in stored.items()} == {
        "a": ("%1", "two\n", 2),
        "b": ("%2", "bee\n", 1),
    }


@pytest.mark.django_db
def test_a_text_the_table_holds_already_is_not_written_again():
    mirror.record({"a": ("%1", "same\n", 1.0)})
    mirror.record({"a": ("%1", "same\n", 5.0)})  # a worker that started again captures it anew
    row = selectors.screens(["a"])["a"]
    assert (row.seq, row.captured_at) == (1, 1.0)


@pytest.mark.django_db
def test_a_screen_watched_before_its_first_capture_is_stored():
    mirror.watch(["new"], now=time.time())
    mirror.record({"new": ("%4", "", 1.0)})  # even an empty screen: it is the first capture
    assert selectors.screens(["new"])["new"].seq == 1


@pytest.mark.django_db
def test_a_screen_only_watched_is_not_shown_as_captured():
    mirror.watch(["quiet"], now=time.time())
    assert selectors.screens(["quiet"]) == {}
    assert mirror.wanted() == {"quiet": True}  # never captured: the worker takes it as asked


@pytest.mark.asyncio
async def test_announcing_wakes_the_followers_of_this_process():
    follower = await screens.following()
    news = follower.news()
    screens.announce()
    await asyncio.wait_for(news.wait(), TIMEOUT)
    assert not follower.news().is_set()  # the next ring is news again


@pytest.mark.asyncio
async def test_another_process_rings_the_followers_doorbell():
    follower = await screens.following()
    assert follower.bell is not None
    news = follower.news()
    screens.ScreenBells().ring()  # what announce() does in another process: it lists the sockets of all but its own
    await asyncio.wait_for(news.wait(), TIMEOUT)


@pytest.mark.asyncio
async def test_screens_and_events_ring_apart():
    follower = await screens.following()
    news = follower.news()
    assert screens.bells.folder() != screens.live.doorbells.folder()
    screens.live.doorbells.ring()  # an event's ring reaches event followers only
    assert not news.is_set()


@pytest.mark.asyncio
@pytest.mark.django_db(transaction=True)
async def test_storing_a_screen_rings_after_its_commit():
    follower = await screens.following()
    news = follower.news()
    rung_inside: list[bool] = []

    def record_in_a_transaction():
        with transaction.atomic():
            mirror.record({"s": ("%3", "new\n", time.time())})
            rung_inside.append(news.is_set())

    await database_sync_to_async(record_in_a_transaction)()
    await asyncio.wait_for(news.wait(), TIMEOUT)
    assert rung_inside == [False]


@pytest.mark.asyncio
@pytest.mark.django_db(transaction=True)
async def test_nothing_stored_rings_nothing():
    await database_sync_to_async(mirror.record)({"held": ("%5", "held\n", 1.0)})
    follower = await screens.following()
    news = follower.news()
    await database_sync_to_async(mirror.record)({})
    await database_sync_to_async(mirror.record)({"held": ("%5", "held\n", 2.0)})
    await screens.wait(news, 0.2)
    assert not news.is_set()


@pytest.mark.django_db
def test_a_look_waits_for_the_workers_next_capture_changed_or_not(monkeypatch):
    """What the API's screen read of another host's session waits for: a look is asked, and the worker's next
    capture answers it even when the screen did not change (nobody is rung: nothing new to show)."""
    mirror.record({"a": ("%1", "\x1b[1msame\x1b[0m\n", 1.0)})
    asked = []

    def the_worker_ticks(_seconds):
        asked.append(mirror.wanted()["a"])
        mirror.record({"a": ("%1", "\x1b[1msame\x1b[0m\n", 7.0)})

    monkeypatch.setattr(mirror.time, "sleep", the_worker_ticks)
    row = mirror.look("a", wait=TIMEOUT)
    assert (row.seq, row.captured_at, asked) == (1, 7.0, [True])
    assert mirror.plain(row.text) == "same\n"
    assert mirror.wanted() == {"a": False}


@pytest.mark.django_db
def test_a_look_no_worker_answers_is_none_after_its_wait():
    mirror.record({"a": ("%1", "old\n", 1.0)})
    assert mirror.look("a", wait=0.05) is None
