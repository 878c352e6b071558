"""The live-page machinery: groups from topics, which events re-render which partials, and the diff that pushes
a fragment again only when what it shows changed."""

import pytest
from django.http import Http404

from chorus_site.pages.base import Fragment, LivePage, Pushed, found
from events_app import live
from events_app.errors import NotFound

pytestmark = pytest.mark.django_db


class Probe(LivePage):
    """A page kind of two partials that counts its readings."""

    name = "probe"
    template = "events.html"
    parameters = ("path",)
    topics = ("task", "document:{path}")

    def __init__(self, params):
        super().__init__(params)
        self.related = {"1", "2"}
        self.readings: list[str] = []

    def read_result(self):
        self.readings.append("result")
        return [Fragment("events.html#verify-result", {"result": {"ok": True, "checked": 3}})]

    def read_flash(self):
        self.readings.append("flash")
        return [Fragment("base.html#flash", {"flash": [("success", "moved", None)]}, key="moved")]

    partials = {"verify-result": read_result, "flash": read_flash}
    renders = {"task:{related}": ("verify-result",), "document:{path}": ("flash",)}


def event(stream_type: str, stream_id: str) -> dict:
    return {"stream_type": stream_type, "stream_id": stream_id, "position": 1}


def test_a_page_keeps_only_its_own_parameters_and_follows_its_topics():
    page = Probe({"path": "docs/a.md", "page": "probe", "other": "x", "empty": ""})
    assert page.params == {"path": "docs/a.md"}
    assert page.live_url() == "/ws/page/?page=probe&path=docs%2Fa.md"
    topics = ["session", "task", "document:docs/a.md"]
    assert page.groups() == [live.topic_group(topic) for topic in topics]


def test_a_snapshot_reads_every_partial_once_and_the_top_bar():
    page = Probe({"path": "a.md"})
    html = page.snapshot()
    assert page.readings == ["result", "flash"]
    assert 'id="verify-result"' in html and 'id="flash"' in html and 'id="needs-human"' in html


def test_events_re_render_the_partials_their_stream_names():
    page = Probe({"path": "a.md"})
    page.snapshot()
    page.readings.clear()
    assert page.update([event("task", "3"), event("document", "b.md")]) == ""
    assert page.readings == []
    assert 'id="verify-result"' in page.update([event("task", "2")])  # one of the tasks the page keeps
    page.related = {"3"}
    assert 'id="verify-result"' in page.update([event("task", "3")])
    assert page.update([event("document", "a.md")]) == ""  # the flash's key did not change: nothing to send
    assert page.readings == ["result", "result", "flash"]


def test_a_fragment_with_a_key_is_sent_again_only_when_it_changes():
    pushed = Pushed()
    a1, b = Fragment("t#a", {}, key=1), Fragment("t#b", {})
    assert pushed.changed([a1, b]) == [a1, b]
    a2 = Fragment("t#a", {}, key=2)
    assert pushed.changed([Fragment("t#a", {}, key=1), b]) == [b]  # no key: whenever it is read
    assert pushed.changed([a2]) == [a2]


def test_a_container_sent_covers_what_it_contains():
    pushed = Pushed()
    cards = [Fragment("t#card", {}, id="card-1", key=1), Fragment("t#card", {}, id="card-2", key=1)]
    pushed.changed([Fragment("t#grid", {}, key="layout", covers=cards), *cards])
    changed = [Fragment("t#card", {}, id="card-1", key=1), Fragment("t#card", {}, id="card-2", key=2)]
    grid = Fragment("t#grid", {}, key="layout", covers=changed)
    assert pushed.changed([grid, *changed]) == [changed[1]]  # same layout: the one card that changed
    moved = Fragment("t#grid", {}, key="new layout", covers=changed)
    assert pushed.changed([moved, *changed]) == [moved]  # a new layout: the grid, with its cards in it


def test_a_domain_error_reading_what_the_page_is_about_is_a_404():
    def missing():
        raise NotFound("no task 9")

    with pytest.raises(Http404, match="no task 9"):
        found(missing)
