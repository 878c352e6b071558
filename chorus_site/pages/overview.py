"""The overview: the sessions as cards (waiting ones first) with their tasks and the last lines of their screens,
counts by status, and the new-session form. An update sends the cards that changed, or the whole grid when a card
changes section; the screens are looked at every second, all in one read, and a card's tail goes when it changed.

With hundreds of sessions the page stays small: each section shows its first cards (the ended ones collapsed to the
few that ended last) and says how many more there are, with a link to the page showing all (`?all=1`). Only the
cards shown have their screens read, rendered and pushed."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from django.conf import settings

from chorus_site import ansi
from chorus_site.pages import screens
from chorus_site.pages.base import QUESTION, REQUEST, SESSION, TASK, Fragment, LivePage, Shown
from chorus_site.pages.usage import DISPATCH, USAGE, today_spend
from events_app.errors import DomainError
from sessions_app import selectors as session_selectors
from sessions_app import services as session_services
from tasks_app import lifecycle
from tasks_app import selectors as task_selectors

SECTIONS = (("waiting", "Needs you"), ("live", "Working"), ("ended", "Ended"))
TAIL_LINES = 6
# Cards a section shows unless the page shows all: a screenful and more of live ones, the last few that ended.
SHOWN = {"waiting": 24, "live": 24, "ended": 3}


@dataclasses.dataclass
class Card:
    session: Any
    tail: list[ansi.Line]
    task: Any = None
    question: Any = None  # the agent's oldest open question
    offline: str = ""  # why its status is only what was last seen: its host is offline ("" while it is online)

    @property
    def name(self) -> str:
        return self.session.name

    @property
    def asks(self) -> str:
        """The open question, unless the status reason already says it (status fusion's "agent asks: ...")."""
        question = self.question
        if question is None or question.text[:40] in self.session.status_reason:
            return ""
        return question.text

    @property
    def key(self) -> tuple:
        """What the card shows, but its tail (which a screen refresh sends by itself)."""
        task = self.task
        task = (task.id, task.title, task.status) if task else None
        return (self.session.version, task, self.question and self.question.id, self.offline)


def current_tasks() -> dict[str, Any]:
    """The task each session is working on (assigned, in progress or in review), by session name."""
    working = task_selectors.tasks().filter(status__in=[*lifecycle.ACTIVE, lifecycle.REVIEW]).exclude(session="")
    return {task.session: task for task in working.order_by("updated_at")}


def tail(screen: str) -> list[ansi.Line]:
    return ansi.screen_tail(screen, TAIL_LINES)


def _section(session) -> str:
    if not session.is_live:
        return "ended"
    return "waiting" if session.status == "waiting" else "live"


def grid(sessions: list, tails: Shown, everything: bool = False, offline: Mapping[str, str] | None = None) -> dict:
    """The sections' cards (all of them if `everything`, else each section's first SHOWN) and the counts; a live
    session of a host in `offline` says so on its card."""
    offline = offline or {}
    members: dict[str, list] = {key: [] for key, _ in SECTIONS}
    for s in sessions:
        members[_section(s)].append(s)
    members["ended"].sort(key=lambda s: s.status_since, reverse=True)  # the last to end first
    current = current_tasks()
    asked = session_selectors.open_questions()
    sections = []
    for key, title in SECTIONS:
        shown = members[key] if everything else members[key][: SHOWN[key]]
        cards = [
            Card(s, tails.get(s.name, []), current.get(s.name), asked.get(s.name), offline.get(s.host, ""))
            for s in shown
        ]
        sections.append((key, title, cards, len(members[key])))
    counts = {status: 0 for status in ("waiting", "busy", "idle", "unknown", "stopped")}
    for s in sessions:
        if s.is_live:
            counts[s.status] = counts.get(s.status, 0) + 1
    counts["ended"] = len(members["ended"])
    return {"sections": sections, "counts": counts, "total": len(sessions), "everything": everything}


def shown_live(context: dict) -> list[str]:
    """The sessions with a live pane among the cards shown: the screens the page reads."""
    return [
        card.name
        for _key, _title, cards, _count in context["sections"]
        for card in cards
        if card.session.is_live and card.session.pane_id
    ]


def open_requests() -> dict:
    """The requests no host's worker has finished yet (pending, or being carried out), the latest first."""
    return {"session_requests": session_selectors.requests(open_only=True, limit=20)}


def profile_label(profile) -> str:
    """A profile as the new-session form offers it: marked when its program is not installed or it is no agent."""
    if not session_selectors.installed(profile):
        return f"{profile.name} (not installed)"
    return profile.name if profile.agent else f"{profile.name} (not an agent)"


def profiles() -> list[tuple[str, str]]:
    """(name, label) of every profile the form offers."""
    try:
        return [(p.name, profile_label(p)) for p in session_selectors.profiles()]
    except DomainError:
        name = session_selectors.default_profile()
        return [(name, name)]


class OverviewPage(LivePage):
    name = "overview"
    template = "overview.html"
    section = "sessions"
    parameters = ("all", "host")
    topics = (TASK, QUESTION, USAGE, DISPATCH, REQUEST)
    screen_interval = 1.0

    def __init__(self, params: Mapping[str, str]):
        super().__init__(params)
        self.everything = self.params.get("all") == "1"
        self.live: list[str] = []  # the live sessions among the cards shown, as the last reading found them
        self.tails = Shown()  # each card's tail as last shown
        self.screens = screens.Screens()
        self.host = self.params.get("host", "")
        self.hosts: list = []  # every host as the last reading found it (presence is no event: see refresh_screens)

    def read(self) -> dict:
        self.hosts = session_selectors.hosts()
        offline = {host.name: host.offline_reason for host in self.hosts if not host.online}
        sessions = list(session_selectors.sessions(host=self.host))
        context = grid(sessions, self.tails, self.everything, offline)
        self.live = shown_live(context)
        return {**context, "hosts": self.hosts, "host": self.host}

    def read_grid(self) -> list[Fragment]:
        context = self.read()
        cards = [
            Fragment("overview.html#session-card", {"card": card}, id=f"card-{card.name}", key=card.key)
            for _key, _title, section, _count in context["sections"]
            for card in section
        ]
        layout = tuple(
            (key, count, tuple(card.name for card in section)) for key, _title, section, count in context["sections"]
        )
        return [
            Fragment(
                "overview.html#host-list", context, key=tuple((h.name, h.online, h.live_sessions) for h in self.hosts)
            ),
            Fragment("overview.html#session-grid", context, key=layout, covers=cards),
            Fragment("overview.html#status-counts", context, key=tuple(context["counts"].items())),
            *cards,
        ]

    def read_requests(self) -> list[Fragment]:
        context = open_requests()
        key = tuple((r.id, r.version, r.waits_for) for r in context["session_requests"])
        return [Fragment("overview.html#open-requests", context, key=key)]

    def read_spend(self) -> list[Fragment]:
        return [today_spend()]

    partials = {
        "session-grid": read_grid,
        "status-counts": read_grid,
        "session-card": read_grid,
        "host-list": read_grid,
        "today-spend": read_spend,
        "open-requests": read_requests,
    }
    # a task names its session in its read model, not in its events: any task event may change what a card shows
    renders = {
        SESSION: ("host-list", "status-counts", "session-grid", "session-card"),
        TASK: ("status-counts", "session-grid", "session-card"),
        QUESTION: ("session-card",),
        USAGE: ("today-spend",),
        DISPATCH: ("today-spend",),
        REQUEST: ("open-requests",),
    }

    def _read_with_tails(self) -> dict:
        """The read models' context, each card with the tail of its screen as last stored."""
        context = self.read()
        for name, screen in self.screens.read(self.live).items():
            self.tails.changed(name, tail(screen))
        for _key, _title, cards, _count in context["sections"]:
            for card in cards:
                card.tail = self.tails.get(card.name, [])
        return context

    def context(self) -> dict:
        context = self._read_with_tails()
        return {
            **super().context(),
            **context,
            "today_spend": today_spend().context,
            **open_requests(),
            "profiles": profiles(),
            "default_profile": session_selectors.default_profile(),
            "this_host": settings.CHORUS_HOST_NAME,
            "name_rule": f"Use {session_services.NAME_RULE}.",
        }

    def refresh_screens(self) -> str:
        """The tails that changed; and, when a host went offline or came back (presence is no event, so no push
        says so), the hosts and the cards again."""
        online = [(host.name, host.online) for host in self.hosts]
        if [(host.name, host.online) for host in session_selectors.hosts()] != online:
            return self.render_grid()
        tails = {name: tail(screen) for name, screen in self.screens.read(self.live).items()}
        return "".join(
            Fragment("overview.html#session-tail", {"name": name, "tail": lines}).render()
            for name, lines in tails.items()
            if self.tails.changed(name, lines)
        )

    def render_grid(self) -> str:
        context = self._read_with_tails()
        parts = ("host-list", "status-counts", "session-grid")
        return "".join(Fragment(f"overview.html#{part}", context).render() for part in parts)
