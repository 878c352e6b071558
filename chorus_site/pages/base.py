"""What every live page shares. A page kind (one module each, named in chorus_site.pages.registry) is a LivePage
subclass that declares as data the template it renders, the query parameters that say what it shows, the topics
it follows, its live partials with the reading that renders each, and which event streams re-render which partials.

The HTTP view renders `template` with `context()`. The page websocket (chorus_site.consumers) sends `snapshot()` on
connect and `update(events)` after events, both made of the partials the template renders inline, so a pushed
fragment looks exactly like a loaded one. Three things stay apart: a page's readings (its context from the read
models, in its own module), what changed since the last push (`Pushed`: a fragment goes again only when its key
changed), and screens, which are not events (`refresh_screens()` on a timer; `Shown` remembers what was pushed).
"""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Callable, Collection, Hashable, Mapping, Sequence
from typing import Any, ClassVar

from django.http import Http404
from django.template.loader import render_to_string
from django.utils.http import urlencode

from events_app import live
from events_app.errors import DomainError
from sessions_app import selectors as session_selectors

SOCKET_PATH = "ws/page/"
# Topics and stream patterns: a stream type (every stream of it), "type:{name}" (the streams a page parameter or
# attribute names), or EVERY (all streams).
SESSION, TASK, MESSAGE, DOCUMENT = "session", "task", "message", "document"
AGENT, QUESTION, CLAIM = "agent", "question", "claim"
REQUEST = "request"
EVERY = "*"
NEEDS_HUMAN = "needs-human"
_UNSENT = object()


class PageNotFound(Http404):
    pass


def found(read: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """What a page is about (a session, a task, a document): a domain error reading it means the page does not
    exist."""
    try:
        return read(*args, **kwargs)
    except DomainError as exc:
        raise PageNotFound(str(exc)) from None


def flatten(querydict) -> dict[str, str]:
    """A QueryDict (or parse_qs result) as single values: a page's parameters."""
    if hasattr(querydict, "dict"):
        return querydict.dict()
    return {k: v[-1] for k, v in querydict.items() if v}


def needs_human() -> dict:
    """The live sessions waiting for a person: the top bar's counter, the tab title, favicon and notices."""
    # Names only: every open page reads this after every session event.
    waiting = session_selectors.sessions(include_ended=False).filter(status="waiting").values_list("name", flat=True)
    return {"waiting_names": list(waiting)}


@dataclasses.dataclass
class Fragment:
    """One top-level element a push replaces on the page: a template partial and the context it renders with."""

    template: str  # "board.html#column"
    context: Mapping[str, Any]
    id: str = ""  # the element's id, which the diff follows; the partial's name unless it repeats
    key: Hashable = None  # what it shows, as a value: sent again only when this changes (None: whenever read)
    covers: Sequence[Fragment] = ()  # the fragments inside it: sending it sends them too

    def __post_init__(self) -> None:
        self.id = self.id or self.partial

    @property
    def partial(self) -> str:
        return self.template.partition("#")[2]

    def render(self) -> str:
        return render_to_string(self.template, dict(self.context))


class Pushed:
    """What the page's socket last sent of each element, by id, so that an update sends only what changed."""

    def __init__(self) -> None:
        self.keys: dict[str, Hashable] = {}

    def changed(self, fragments: Sequence[Fragment]) -> list[Fragment]:
        """The fragments to send, in order, noted as sent: those whose key changed (or that have none), and not
        those covered by a fragment sent before them."""
        sending = []
        for fragment in fragments:
            if fragment.key is not None and self.keys.get(fragment.id, _UNSENT) == fragment.key:
                continue
            sending.append(fragment)
            for inside in (fragment, *fragment.covers):
                self.keys[inside.id] = inside.key
        return sending


class Shown:
    """What a page last pushed of things that change without events (screens), by name. The screen timer looks on
    a thread of its own beside the page's readings; the lock keeps each compare-and-note whole."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._values: dict[str, Any] = {}

    def changed(self, name: str, value: Any) -> bool:
        """Note `value` as shown for `name`; whether it differs from what was shown before."""
        with self._lock:
            if name in self._values and self._values[name] == value:
                return False
            self._values[name] = value
            return True

    def get(self, name: str, default: Any = None) -> Any:
        with self._lock:
            return self._values.get(name, default)


Reading = Callable[[Any], list[Fragment]]


class LivePage:
    """One page kind. A subclass declares the class attributes below and the readings its partials name."""

    name: ClassVar[str] = ""
    template: ClassVar[str] = ""
    section: ClassVar[str] = ""  # the top bar's entry the page belongs to
    parameters: ClassVar[tuple[str, ...]] = ()  # the query parameters that say what the page shows
    topics: ClassVar[tuple[str, ...]] = ()  # what it follows besides sessions (every page counts who waits)
    # live partial -> the reading (a method returning fragments) that renders it; a snapshot sends them in order
    partials: ClassVar[Mapping[str, Reading]] = {}
    # stream pattern -> the partials its events re-render
    renders: ClassVar[Mapping[str, tuple[str, ...]]] = {}
    # seconds between looks at the screens the page shows; None: it shows none
    screen_interval: ClassVar[float | None] = None

    def __init__(self, params: Mapping[str, str]):
        self.params = {k: params[k] for k in self.parameters if isinstance(params.get(k), str) and params[k]}
        self.pushed = Pushed()

    def live_url(self) -> str:
        return f"/{SOCKET_PATH}?" + urlencode({"page": self.name, **self.params})

    def groups(self) -> list[str]:
        return [live.topic_group(self._format(topic)) for topic in (SESSION, *self.topics)]

    def context(self) -> dict:
        """The whole page's context; a subclass adds what its template shows."""
        return {"live_url": self.live_url(), "page_name": self.name, "section": self.section, **needs_human()}

    def snapshot(self) -> str:
        """Every live partial as the read models have it now; what the socket pushes next is diffed against it."""
        self.pushed = Pushed()
        return self._push(set(self._partials()))

    def update(self, events: list[dict]) -> str:
        """The partials these events may have changed, those that did."""
        wanted = {
            partial
            for pattern, partials in self._renders()
            if any(self._matches(pattern, event) for event in events)
            for partial in partials
        }
        return self._push(wanted)

    def refresh_screens(self) -> str:
        """The screen partials that changed since the last look (pages that show screens say how)."""
        return ""

    def read_needs_human(self) -> list[Fragment]:
        context = needs_human()
        return [Fragment(f"base.html#{NEEDS_HUMAN}", context, key=tuple(context["waiting_names"]))]

    def _partials(self) -> dict[str, Reading]:
        return {**self.partials, NEEDS_HUMAN: LivePage.read_needs_human}

    def _renders(self) -> list[tuple[str, Collection[str]]]:
        return [*self.renders.items(), (SESSION, (NEEDS_HUMAN,))]

    def _push(self, wanted: set[str]) -> str:
        readings = dict.fromkeys(reading for partial, reading in self._partials().items() if partial in wanted)
        fragments = [f for reading in readings for f in reading(self) if f.partial in wanted]
        return "".join(fragment.render() for fragment in self.pushed.changed(fragments))

    def _matches(self, pattern: str, event: Mapping[str, Any]) -> bool:
        stream_type, _, named = pattern.partition(":")
        if stream_type not in (EVERY, event["stream_type"]):
            return False
        if not named:
            return True
        value = self._value(named.strip("{}"))
        return event["stream_id"] in ({value} if isinstance(value, str) else value)

    def _format(self, topic: str) -> str:
        stream_type, _, named = topic.partition(":")
        return f"{stream_type}:{self._value(named.strip('{}'))}" if named else topic

    def _value(self, name: str) -> str | Collection[str]:
        """A name in a pattern: one of the page's parameters, else an attribute it keeps (a set of stream ids)."""
        return self.params.get(name, "") if name in self.parameters else getattr(self, name)
