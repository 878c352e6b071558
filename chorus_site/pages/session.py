"""One session: its terminal mirrored live (looked at when the worker stored a new screen, and every second; sent
when it changed), the dialog's options read off the screen while it waits, its agent's open questions with their
answers, keys, a message box, the outbox, the agent's recent tool calls, its tasks' path claims with the edits they
refused, the approval decisions on its agent's permission requests, and the status history."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping

from chorus_site import ansi
from chorus_site.pages import screens
from chorus_site.pages.base import AGENT, CLAIM, MESSAGE, QUESTION, REQUEST, Fragment, LivePage, Shown, found
from chorus_site.pages.usage import USAGE, session_usage
from sessions_app import selectors as session_selectors
from tasks_app import selectors as task_selectors

# The streams of agents' tool calls (one per session) and of their questions (one per question).
# The named keys offered under the terminal, a subset of the tmux adapter's allowlist, in a useful order.
KEY_BUTTONS = ("Enter", "Escape", "Up", "Down", "Tab", "BTab", "y", "n", "C-c")
QUESTIONS_CLOSED_SHOWN = 5
AGENT_CALLS_SHOWN = 10
APPROVALS_SHOWN = 10
REQUESTS_SHOWN = 5
APPROVAL = "approval"


@dataclasses.dataclass(frozen=True)
class Screen:
    """What the page shows of a screen: its HTML, and the question and numbered options of a dialog on it."""

    html: str = ""
    options: tuple[tuple[str, str], ...] = ()
    question: str = ""


def screen(name: str, text: str) -> Screen:
    lines = ansi.render_lines(text)
    plain = "\n".join(line.text for line in lines)
    menu = found(session_selectors.dialog, name, plain)
    html = "\n".join(line.html for line in lines)
    return Screen(html, menu.options, menu.question) if menu else Screen(html)


def head(session) -> dict:
    return {
        "session": session,
        # a live session of an offline host shows what was last seen as such, not as its status now
        "host_offline": session_selectors.offline_hosts().get(session.host, "") if session.is_live else "",
        "history": list(session_selectors.status_history(session.name, 50)),
        "attach_command": session_selectors.attach_command(session.name),
    }


def questions(name: str) -> dict:
    """The agent's open questions, oldest first, and the last ones answered or withdrawn, newest first."""
    asked = list(found(session_selectors.questions, name, include_closed=True))
    closed = [q for q in asked if not q.is_open]
    return {
        "session_name": name,
        "open_questions": [q for q in asked if q.is_open],
        "closed_questions": closed[::-1][:QUESTIONS_CLOSED_SHOWN],
    }


def agent_calls(name: str) -> dict:
    return {"agent_calls": list(found(session_selectors.agent_calls, name, AGENT_CALLS_SHOWN))}


def claims(name: str) -> dict:
    """The live path claims of the session's tasks and the edits of its agent they refused."""
    return {
        "session_claims": task_selectors.live_claims(session=name),
        "session_denials": task_selectors.edit_denials(involving=name, limit=10),
    }


def approvals(name: str) -> dict:
    """What the approval policy (or a person) decided about the permission requests of the session's agent."""
    return {"approval_decisions": task_selectors.approval_decisions(name, APPROVALS_SHOWN)}


def session_requests(name: str) -> dict:
    """The session's latest requests to its host's worker: pending ones (cancellable), being carried out, done."""
    return {"session_requests": session_selectors.requests(name, limit=REQUESTS_SHOWN)}


def requests_key(context: dict) -> tuple:
    return tuple((r.id, r.version, r.waits_for) for r in context["session_requests"])


def outbox(name: str) -> dict:
    messages = list(found(session_selectors.outbox, name, include_finished=True))
    return {"session_name": name, "outbox_messages": messages[::-1][:30]}


class SessionPage(LivePage):
    name = "session"
    template = "session.html"
    section = "sessions"
    parameters = ("name",)
    topics = (MESSAGE, QUESTION, f"{AGENT}:{{name}}", CLAIM, f"{USAGE}:{{name}}", f"{APPROVAL}:{{name}}", REQUEST)
    screen_interval = 1.0

    def __init__(self, params: Mapping[str, str]):
        super().__init__(params)
        self.session_name = self.params.get("name", "")
        self.pane = ""  # the session's pane while it is live, as the last reading found it
        self.waiting = False
        self.texts = Shown()  # the screen's text as last looked at
        self.screen = Screen()
        self.screens = screens.Screens()
        self.host = ""  # the session's host, as the last reading found it
        self.host_state = Shown()  # whether that host was offline when last shown

    def host_offline(self) -> str:
        return session_selectors.offline_hosts().get(self.host, "")

    def read_session(self):
        session = found(session_selectors.session, self.session_name)
        self.host = session.host
        self.pane = session.pane_id if session.is_live else ""
        self.waiting = session.is_live and session.status == "waiting"
        return session

    def read_head(self) -> list[Fragment]:
        context = head(self.read_session())
        self.host_state.changed("offline", context["host_offline"])
        return [Fragment("session.html#session-head", context), Fragment("session.html#history", context)]

    def read_outbox(self) -> list[Fragment]:
        return [Fragment("session.html#outbox", outbox(self.session_name))]

    def read_dialog(self) -> list[Fragment]:
        self.read_session()
        return [Fragment("session.html#dialog", self.dialog())]

    def read_questions(self) -> list[Fragment]:
        context = questions(self.session_name)
        shown = (*context["open_questions"], *context["closed_questions"])
        return [Fragment("session.html#questions", context, key=tuple((q.id, q.version) for q in shown))]

    def read_agent_calls(self) -> list[Fragment]:
        context = agent_calls(self.session_name)
        return [Fragment("session.html#agent-calls", context, key=tuple(c.position for c in context["agent_calls"]))]

    def read_claims(self) -> list[Fragment]:
        context = claims(self.session_name)
        shown = (tuple(c.key for c in context["session_claims"]), tuple(d.position for d in context["session_denials"]))
        return [Fragment("session_claims.html#session-claims", context, key=shown)]

    def read_usage(self) -> list[Fragment]:
        return [session_usage(self.session_name)]

    def read_requests(self) -> list[Fragment]:
        context = session_requests(self.session_name)
        return [Fragment("session.html#requests", context, key=requests_key(context))]

    def read_approvals(self) -> list[Fragment]:
        context = approvals(self.session_name)
        shown = tuple(d.position for d in context["approval_decisions"])
        return [Fragment("approval_decisions.html#approval-decisions", context, key=shown)]

    partials = {
        "session-head": read_head,
        "history": read_head,
        "outbox": read_outbox,
        "dialog": read_dialog,
        "questions": read_questions,
        "agent-calls": read_agent_calls,
        "session-claims": read_claims,
        "session-usage": read_usage,
        "approval-decisions": read_approvals,
        "requests": read_requests,
    }
    # a question's stream is its own id, not the session's: every question event is read, and sent if it changed
    renders = {
        "session:{name}": ("session-head", "history", "dialog"),
        MESSAGE: ("outbox",),
        QUESTION: ("questions",),
        f"{AGENT}:{{name}}": ("agent-calls", "session-claims"),
        CLAIM: ("session-claims",),
        f"{USAGE}:{{name}}": ("session-usage",),
        f"{APPROVAL}:{{name}}": ("approval-decisions",),
        REQUEST: ("requests",),
    }

    def dialog(self) -> dict:
        shown = self.screen if self.waiting else Screen()
        return {"session_name": self.session_name, "options": shown.options, "question": shown.question}

    def shown_screen(self) -> dict:
        return {"session_name": self.session_name, "screen_html": self.screen.html, "live": bool(self.pane)}

    def look(self) -> bool:
        """Read the screen now; whether it changed since the last look."""
        text = self.screens.read([self.session_name]).get(self.session_name, "") if self.pane else ""
        if not self.texts.changed(self.session_name, text):
            return False
        self.screen = screen(self.session_name, text)
        return True

    def context(self) -> dict:
        session = self.read_session()
        self.look()
        shown = head(session)
        self.host_state.changed("offline", shown["host_offline"])
        return {
            **super().context(),
            **shown,
            **outbox(self.session_name),
            "session_usage": session_usage(self.session_name).context,
            **questions(self.session_name),
            **agent_calls(self.session_name),
            **claims(self.session_name),
            **approvals(self.session_name),
            **session_requests(self.session_name),
            **self.dialog(),
            **self.shown_screen(),
            "keys": KEY_BUTTONS,
        }

    def refresh_screens(self) -> str:
        """The screen when it changed; and the head when the session's host went offline or came back (presence
        is no event, so no push says so)."""
        parts = []
        if self.pane and self.host_state.changed("offline", self.host_offline()):
            parts.extend(self.read_head()[:1])
        dialog = self.dialog()
        if not self.look():
            return "".join(part.render() for part in parts)
        parts.append(Fragment("session.html#screen", self.shown_screen()))
        if self.dialog() != dialog:
            parts.append(Fragment("session.html#dialog", self.dialog()))
        return "".join(part.render() for part in parts)
