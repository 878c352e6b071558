"""What each live page shows, shared by its HTTP view and its websocket: the page's context, the Channels
groups it follows, and the template partials it re-renders when an event says something changed.

A `LivePage` is built from the page's query parameters. The view renders `template` with `context()`; the page
websocket (chorus_site.consumers) sends `snapshot()` on connect and `update(events)` after events, both made of
the very partials the template renders inline, so a pushed fragment looks exactly like a loaded one. Screens
are not events: `refresh_screens()` captures them from tmux on a timer (no database) and returns what changed.
"""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from django.http import Http404
from django.template.loader import render_to_string
from django.utils.dateparse import parse_datetime
from django.utils.http import urlencode

from chorus_site import ansi
from events_app import live
from events_app import selectors as event_selectors
from events_app.domain import registered_types
from sessions_app import selectors as session_selectors
from sessions_app import services as session_services
from sessions_app import tmux as tmux_adapter

SESSIONS = live.topic_group("session")
TASKS = live.topic_group("task")
MESSAGES = live.topic_group("message")
ALL = live.ALL_GROUP
TAIL_LINES = 6
EVENTS_PER_PAGE = 50
# An actor filter is applied while reading (the store cannot filter on metadata): at most this many events
# are looked at for one page of results.
ACTOR_SCAN_LIMIT = 20_000
# The named keys offered under the terminal, a subset of the tmux adapter's allowlist, in a useful order.
KEY_BUTTONS = ("Enter", "Escape", "Up", "Down", "Tab", "BTab", "y", "n", "C-c")


class PageNotFound(Http404):
    pass


def render(partial: str, context: Mapping[str, Any]) -> str:
    return render_to_string(partial, dict(context))


# --- shared pieces ----------------------------------------------------------------------------------------------


def needs_human() -> dict:
    """The live sessions waiting for a person: the top bar's counter, the tab title, favicon and notices."""
    waiting = [s.name for s in session_selectors.sessions(include_ended=False) if s.status == "waiting"]
    return {"waiting_names": waiting}


def current_tasks() -> dict[str, Any]:
    """The task each session is working on (assigned, in progress or in review), by session name."""
    from tasks_app import selectors as task_selectors
    from tasks_app.models import ACTIVE, REVIEW

    working = task_selectors.tasks().filter(status__in=[*ACTIVE, REVIEW]).exclude(session="")
    return {task.session: task for task in working.order_by("updated_at")}


def capture_screens(panes: Mapping[str, str]) -> dict[str, str]:
    """ANSI screens of several sessions ({name: pane id}) in one tmux invocation; sessions whose pane is gone
    (or tmux itself) are left out."""
    if not panes:
        return {}
    try:
        screens = session_services.tmux().capture_many(panes.values(), ansi=True)
    except (tmux_adapter.TmuxError, ValueError):
        return {}
    return {name: screens[pane].text for name, pane in panes.items() if pane in screens}


@dataclasses.dataclass
class Card:
    session: Any
    tail: list[ansi.Line]
    task: Any = None

    @property
    def name(self) -> str:
        return self.session.name


class LivePage:
    """One page kind. Subclasses set `name`, `template`, `groups()` and the partial renderers."""

    name = ""
    template = ""
    # seconds between screen captures while the page is open; None: the page shows no screen
    screen_interval: float | None = None

    def __init__(self, params: Mapping[str, str]):
        self.params = {k: v for k, v in params.items() if isinstance(v, str)}
        self.lock = threading.Lock()

    def live_url(self) -> str:
        return "/ws/page/?" + urlencode({"page": self.name, **self.params})

    def groups(self) -> list[str]:
        return [SESSIONS]

    def context(self) -> dict:
        return {"live_url": self.live_url(), "page_name": self.name, **needs_human()}

    def snapshot(self) -> str:
        return render("base.html#needs-human", needs_human())

    def update(self, events: list[dict]) -> str:
        if any(e["stream_type"] == "session" for e in events):
            return render("base.html#needs-human", needs_human())
        return ""

    def refresh_screens(self) -> str:
        return ""


# --- overview ---------------------------------------------------------------------------------------------------

SECTIONS = (("waiting", "Needs you"), ("live", "Working"), ("ended", "Ended"))


def _section(session) -> str:
    if not session.is_live:
        return "ended"
    return "waiting" if session.status == "waiting" else "live"


class OverviewPage(LivePage):
    name = "overview"
    template = "overview.html"
    screen_interval = 1.0

    def __init__(self, params):
        super().__init__({})
        self.panes: dict[str, str] = {}
        self.tails: dict[str, list[ansi.Line]] = {}
        self.layout: tuple = ()
        self.working: dict[str, tuple] = {}

    def groups(self):
        return [SESSIONS, TASKS]

    def _read(self) -> tuple[list, dict]:
        sessions = list(session_selectors.sessions())
        with self.lock:
            self.panes = {s.name: s.pane_id for s in sessions if s.is_live and s.pane_id}
        return sessions, self._grid_context(sessions)

    def _grid_context(self, sessions: list) -> dict:
        sections = {key: [] for key, _ in SECTIONS}
        current = current_tasks()
        self.working = {name: (t.id, t.title, t.status) for name, t in current.items()}
        for s in sessions:
            sections[_section(s)].append(Card(s, self.tails.get(s.name, []), current.get(s.name)))
        counts = {status: 0 for status in ("waiting", "busy", "idle", "unknown", "stopped")}
        for s in sessions:
            if s.is_live:
                counts[s.status] = counts.get(s.status, 0) + 1
        counts["ended"] = len(sections["ended"])
        self.layout = tuple((key, tuple(c.name for c in sections[key])) for key, _ in SECTIONS)
        return {
            "sections": [(key, title, sections[key]) for key, title in SECTIONS],
            "counts": counts,
            "total": len(sessions),
        }

    def context(self):
        sessions = list(session_selectors.sessions())
        panes = {s.name: s.pane_id for s in sessions if s.is_live and s.pane_id}
        with self.lock:
            self.panes = panes
            self.tails = {
                name: ansi.tail(ansi.render_lines(text), TAIL_LINES) for name, text in self._capture().items()
            }
        try:
            profiles = [p.name for p in session_selectors.profiles()]
        except session_services.SessionError:
            profiles = ["claude", "shell"]
        return {**super().context(), **self._grid_context(sessions), "profiles": profiles}

    def _capture(self) -> dict[str, str]:
        return capture_screens(self.panes)

    def snapshot(self):
        _sessions, grid = self._read()
        return (
            render("overview.html#session-grid", grid)
            + render("overview.html#status-counts", grid)
            + (super().snapshot())
        )

    def update(self, events):
        changed = {e["stream_id"] for e in events if e["stream_type"] == "session"}
        if not changed and not any(e["stream_type"] == "task" for e in events):
            return ""
        before, working = self.layout, self.working
        _sessions, grid = self._read()
        # a task names its session in its read model, not in the event: compare what each session works on
        changed |= {n for n in set(working) | set(self.working) if working.get(n) != self.working.get(n)}
        if not changed:
            return ""
        parts = [render("overview.html#status-counts", grid), super().update(events)]
        if grid_changed := self.layout != before:
            parts.append(render("overview.html#session-grid", grid))
        if not grid_changed:
            for _key, _title, cards in grid["sections"]:
                parts += [render("overview.html#session-card", {"card": c}) for c in cards if c.name in changed]
        return "".join(parts)

    def refresh_screens(self):
        with self.lock:
            panes = dict(self.panes)
        screens = capture_screens(panes)
        parts = []
        for name, text in screens.items():
            lines = ansi.tail(ansi.render_lines(text), TAIL_LINES)
            with self.lock:
                if self.tails.get(name) == lines:
                    continue
                self.tails[name] = lines
            parts.append(render("overview.html#session-tail", {"name": name, "tail": lines}))
        return "".join(parts)


# --- one session ------------------------------------------------------------------------------------------------


class SessionPage(LivePage):
    name = "session"
    template = "session.html"
    screen_interval = 0.3

    def __init__(self, params):
        super().__init__({"name": params.get("name", "")})
        self.session_name = self.params["name"]
        self.pane_id = ""
        self.status = ""
        self.screen_text: str | None = None
        self.screen_html = ""
        self.options: list[tuple[str, str]] = []

    def groups(self):
        return [SESSIONS, MESSAGES]

    def _session(self):
        try:
            session = session_selectors.session(self.session_name)
        except session_services.UnknownSession:
            raise PageNotFound(f"no session named {self.session_name!r}") from None
        with self.lock:
            self.pane_id = session.pane_id if session.is_live else ""
            self.status = session.status if session.is_live else session.lifecycle
        return session

    def _head(self, session) -> dict:
        return {
            "session": session,
            "history": list(session_selectors.status_history(session.name, 50)),
            "attach_command": session_selectors.attach_command(session.name),
        }

    def _outbox(self) -> dict:
        messages = list(session_selectors.outbox(self.session_name, include_finished=True))
        return {"session_name": self.session_name, "outbox_messages": messages[::-1][:30]}

    def _dialog(self) -> dict:
        with self.lock:
            options = self.options if self.status == "waiting" else []
        return {"session_name": self.session_name, "options": options}

    def _screen(self) -> dict:
        with self.lock:
            return {"session_name": self.session_name, "screen_html": self.screen_html, "live": bool(self.pane_id)}

    def _capture(self) -> bool:
        """Read the screen now; True if it changed since the last look."""
        with self.lock:
            pane = self.pane_id
        text = capture_screens({"s": pane}).get("s", "") if pane else ""
        with self.lock:
            if text == self.screen_text:
                return False
            self.screen_text = text
            self.screen_html = ansi.to_html(text)
            plain = "\n".join(line.text for line in ansi.render_lines(text))
            self.options = ansi.dialog_options(plain)
        return True

    def context(self):
        session = self._session()
        self._capture()
        return {
            **super().context(),
            **self._head(session),
            **self._outbox(),
            **self._dialog(),
            **self._screen(),
            "keys": KEY_BUTTONS,
        }

    def snapshot(self):
        session = self._session()
        head = self._head(session)
        return "".join(
            [
                render("session.html#session-head", head),
                render("session.html#history", head),
                render("session.html#outbox", self._outbox()),
                render("session.html#dialog", self._dialog()),
                super().snapshot(),
            ]
        )

    def update(self, events):
        parts = [super().update(events)]
        if any(e["stream_type"] == "session" and e["stream_id"] == self.session_name for e in events):
            head = self._head(self._session())
            parts += [
                render("session.html#session-head", head),
                render("session.html#history", head),
                render("session.html#dialog", self._dialog()),
            ]
        if any(e["stream_type"] == "message" for e in events):
            parts.append(render("session.html#outbox", self._outbox()))
        return "".join(parts)

    def refresh_screens(self):
        with self.lock:
            old_options = self.options
        if not self._capture():
            return ""
        parts = [render("session.html#screen", self._screen())]
        with self.lock:
            options_changed = self.options != old_options
        if options_changed:
            parts.append(render("session.html#dialog", self._dialog()))
        return "".join(parts)


# --- the event log ----------------------------------------------------------------------------------------------


def _when(value: str | None) -> datetime | None:
    if not value:
        return None
    parsed = parse_datetime(value)
    if parsed is None:
        return None
    if parsed.tzinfo is None:
        from django.utils import timezone

        parsed = timezone.make_aware(parsed, timezone.get_default_timezone())
    return parsed


class EventsPage(LivePage):
    name = "events"
    template = "events.html"
    FILTERS = ("stream", "type", "actor", "since", "until", "before")

    def __init__(self, params):
        super().__init__({k: params.get(k, "") for k in self.FILTERS if params.get(k)})

    def groups(self):
        return [ALL]

    def _filters(self) -> dict:
        stream = self.params.get("stream", "")
        stream_type, _, stream_id = stream.partition(":")
        before = self.params.get("before", "")
        return {
            "stream_type": stream_type or None,
            "stream_id": stream_id or None,
            "event_types": [self.params["type"]] if self.params.get("type") else None,
            "since": _when(self.params.get("since")),
            "before": _when(self.params.get("until")),
            "until": int(before) - 1 if before.isdigit() else None,
        }

    def _events(self) -> list:
        filters = self._filters()
        actor = self.params.get("actor", "").strip()
        if not actor:
            return event_selectors.events_page(limit=EVENTS_PER_PAGE, descending=True, **filters)
        found = []
        scanned = event_selectors.events_page(limit=ACTOR_SCAN_LIMIT, descending=True, **filters)
        for recorded in scanned:
            if recorded.metadata.get("actor") == actor:
                found.append(recorded)
                if len(found) == EVENTS_PER_PAGE:
                    break
        return found

    def _rows(self) -> dict:
        events = self._events()
        older = None
        if len(events) == EVENTS_PER_PAGE:
            older = "?" + urlencode({**self.params, "before": events[-1].position})
        newer = None
        if self.params.get("before"):
            newer = "?" + urlencode({k: v for k, v in self.params.items() if k != "before"})
        return {"events": events, "older": older, "newer": newer, "position": event_selectors.last_position()}

    def context(self):
        stream_types = sorted({cls.stream_type for cls in registered_types().values()})
        event_types = sorted(registered_types())
        return {
            **super().context(),
            **self._rows(),
            "filters": self.params,
            "stream_types": stream_types,
            "event_types": event_types,
        }

    def snapshot(self):
        return render("events.html#event-rows", self._rows()) + super().snapshot()

    def update(self, events):
        parts = [super().update(events)]
        # Only the newest page moves; an older page keeps what it showed.
        if not self.params.get("before"):
            parts.append(render("events.html#event-rows", self._rows()))
        return "".join(parts)


from chorus_site.task_pages import BoardPage, DocumentPage, DocumentsPage, TaskPage  # noqa: E402

PAGES: dict[str, type[LivePage]] = {
    page.name: page
    for page in (OverviewPage, SessionPage, EventsPage, BoardPage, TaskPage, DocumentsPage, DocumentPage)
}


def live_page(params: Mapping[str, str]) -> LivePage:
    """The page a websocket asked for (`page=` and that page's own parameters)."""
    page = PAGES.get(params.get("page", ""))
    if page is None:
        raise PageNotFound("unknown page")
    return page(params)


def flatten(querydict) -> dict[str, str]:
    """A QueryDict (or parse_qs result) as single values."""
    if hasattr(querydict, "dict"):
        return querydict.dict()
    return {k: v[-1] for k, v in querydict.items() if v}
