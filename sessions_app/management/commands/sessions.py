"""`manage.py sessions ...`: every session action from the command line; tables for people, --json for scripts."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from django.conf import settings
from django.core.management.base import CommandError
from django.core.serializers.json import DjangoJSONEncoder
from django.utils import timezone

from events_app.commands import DomainCommand
from events_app.store import event_context
from sessions_app import agent_reports, selectors, services
from sessions_app.tools_loader import CHOICES


def _age(when) -> str:
    seconds = int((timezone.now() - when).total_seconds())
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def _data(schema: str, item) -> dict:
    """One session, message or status change as the API serialises it (its schema, by name, its JSON encoder)."""
    # Imported here: the API's schemas load django-ninja and pydantic, which a table for people does not need.
    from sessions_app import schemas

    return getattr(schemas, schema).from_orm(item).model_dump()


class Command(DomainCommand):
    help = "List, start, kill, restart, adopt agent sessions; send them messages and keys; read their outbox."

    def add_arguments(self, parser):
        parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
        sub = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
        listing = sub.add_parser("list", help="sessions with status and reason")
        listing.add_argument("--live", action="store_true", help="only live sessions")
        listing.add_argument("--host", default="", help="only the sessions of this host (chorus hosts lists them)")
        new = sub.add_parser("new", help="start an agent in a new tmux session")
        new.add_argument("name")
        new.add_argument("--profile", help="default: the built-in default if installed, else the first installed agent")
        new.add_argument("--dir", dest="subdir", help="working directory under PROJECT_ROOT")
        new.add_argument(
            "--tools", choices=CHOICES, help="its agent's Chorus tools (default: the profile's agent_tools)"
        )
        new.add_argument("--host", help="whose worker starts it (default: this host, CHORUS_HOST_NAME)")
        for action in ("kill", "attach", "screen", "history"):
            sub.add_parser(action, help=f"{action} a session").add_argument("name")
        restart = sub.add_parser("restart", help="restart a session")
        restart.add_argument("name")
        restart.add_argument("--resume", action="store_true", help="continue its agent's conversation")
        recover = sub.add_parser(
            "recover", help="start again the sessions that were live when tmux or the machine went away"
        )
        recover.add_argument("--host", help="whose sessions (default: this host's)")
        sub.add_parser("remove", help="forget an ended session (its history stays in the event log)").add_argument(
            "name"
        )
        sub.add_parser("profiles", help="the agent profiles, whether each is an agent and is installed")
        adopt = sub.add_parser("adopt", help="take over a tmux session or pane Chorus did not start")
        adopt.add_argument("target", help="tmux session name or pane id (%%N)")
        adopt.add_argument("--name")
        adopt.add_argument("--profile", default="shell")
        adopt.add_argument("--host", help="whose tmux has it (default: this host)")
        requests = sub.add_parser("requests", help="requests to hosts' workers (start, kill, keys, ...), latest first")
        requests.add_argument("name", nargs="?", help="only this session's")
        requests.add_argument("--open", dest="open_only", action="store_true", help="only those not finished")
        cancel_request = sub.add_parser("cancel-request", help="withdraw a request its host's worker has not taken")
        cancel_request.add_argument("request_id")
        send = sub.add_parser("send", help="queue a message (- reads it from stdin)")
        send.add_argument("name")
        send.add_argument("text")
        keys = sub.add_parser("keys", help="press allowlisted keys, e.g. 1, Enter, Escape, Down")
        keys.add_argument("name")
        keys.add_argument("keys", nargs="+")
        clear = sub.add_parser("clear-input", help="clear the agent's input line (a draft the outbox waits for)")
        clear.add_argument("name")
        outbox = sub.add_parser("outbox", help="messages queued or being delivered")
        outbox.add_argument("name")
        outbox.add_argument("--all", dest="finished", action="store_true", help="finished messages too")
        cancel = sub.add_parser("cancel", help="cancel a queued message")
        cancel.add_argument("message_id")
        questions = sub.add_parser("questions", help="questions its agent asked that wait for an answer")
        questions.add_argument("name")
        questions.add_argument("--all", dest="closed", action="store_true", help="answered and withdrawn ones too")
        answer = sub.add_parser("answer", help="answer its agent's question (- reads the answer from stdin)")
        answer.add_argument("name")
        answer.add_argument("text")
        answer.add_argument("--question", dest="question_id", help="the question's id (default: the oldest open one)")
        auto = sub.add_parser("auto-dispatch", help="opt a session in or out of auto-dispatch")
        auto.add_argument("name")
        auto.add_argument("state", choices=["on", "off"])

    def handle(self, *args, action, **options):
        self.as_json = options["json"]
        with event_context(actor="cli", source="cli"):
            getattr(self, "do_" + action.replace("-", "_"))(**options)

    def emit(self, data, table: list[tuple] | None = None) -> None:
        if self.as_json:
            self.stdout.write(json.dumps(data, ensure_ascii=False, indent=None, cls=DjangoJSONEncoder))
        elif table is not None:
            widths = [max(len(str(row[i])) for row in table) for i in range(len(table[0]))]
            for row in table:
                self.stdout.write("  ".join(str(c).ljust(w) for c, w in zip(row, widths, strict=True)).rstrip())

    def say(self, data: dict, text: str) -> None:
        if self.as_json:
            self.emit(data)
        else:
            self.stdout.write(text, ending="" if text.endswith("\n") else "\n")

    def show_session(self, session) -> None:
        data = _data("SessionOut", session)
        self.emit(data, [(k, v) for k, v in data.items()])

    def do_list(self, live=False, host="", **_):
        sessions = list(selectors.sessions(include_ended=not live, host=host))
        if not sessions and not self.as_json:
            chorus_py = Path(settings.BASE_DIR) / "chorus.py"
            hint = f"python3 {chorus_py} sessions new NAME --profile {selectors.default_profile()}"
            self.stdout.write(f"no sessions; start one with: {hint}")
            return
        offline = selectors.offline_hosts()
        table = [("NAME", "HOST", "PROFILE", "LIFECYCLE", "STATUS", "FOR", "WHY")] + [
            (
                s.name,
                s.host,
                s.profile,
                s.lifecycle,
                s.status,
                _age(s.status_since),
                (f"{offline[s.host]}; last seen: " if s.is_live and s.host in offline else "") + s.status_reason[:70],
            )
            for s in sessions
        ]
        self.emit([_data("SessionOut", s) for s in sessions] if self.as_json else None, table)

    def do_new(self, name, profile, subdir, tools=None, host=None, **_):
        chosen = profile or selectors.default_profile()
        self.show_session(services.session_create(name, chosen, subdir, tools, host=host))

    def do_remove(self, name, **_):
        services.session_remove(name)
        self.say({"name": name, "removed": True}, f"removed {name}; its history stays in the event log")

    def do_profiles(self, **_):
        from sessions_app.schemas import ProfileOut  # pydantic only for this table (see _data)

        rows = [ProfileOut.from_orm(p).model_dump() for p in selectors.profiles()]
        table = [("NAME", "AGENT", "INSTALLED", "DESCRIPTION")] + [
            (r["name"], "yes" if r["agent"] else "no", "yes" if r["installed"] else "NO", r["description"][:60])
            for r in rows
        ]
        self.emit(rows, table)

    def do_kill(self, name, **_):
        self.show_session(services.session_kill(name))

    def do_restart(self, name, resume=False, **_):
        self.show_session(services.session_restart(name, resume=resume))

    def do_recover(self, host=None, **_):
        outcome = services.sessions_recover(host)
        data = [{"name": session.name, "recovered": not failure, "failure": failure} for session, failure in outcome]
        self.say({"sessions": data}, services.recovery_report(outcome))
        if any(failure for _session, failure in outcome):
            raise CommandError("some sessions were not recovered")

    def do_adopt(self, target, name, profile, host=None, **_):
        self.show_session(services.session_adopt(target, name, profile, host=host))

    def do_requests(self, name=None, open_only=False, **_):
        from sessions_app.schemas import RequestOut

        found = selectors.requests(name, open_only=open_only)
        rows = [RequestOut.from_orm(r).model_dump() for r in found]
        table = [("ID", "KIND", "SESSION", "HOST", "STATE", "WHY")] + [
            (r.id, r.kind, r.session, r.host, r.state, (r.waits_for or r.reason)[:80]) for r in found
        ]
        if not rows and not self.as_json:
            self.stdout.write("no requests")
            return
        self.emit(rows, table)

    def do_cancel_request(self, request_id, **_):
        from sessions_app.schemas import RequestOut

        cancelled = services.request_cancel(request_id)
        self.say(RequestOut.from_orm(cancelled).model_dump(), f"cancelled request {request_id}")

    def do_attach(self, name, **_):
        session = selectors.session(name)
        self.say(_data("SessionOut", session), selectors.attach_command(name))

    def do_screen(self, name, **_):
        from sessions_app.schemas import ScreenOut

        screen = ScreenOut(name=name, text=services.session_screen(name))
        self.say(screen.model_dump(), screen.text)

    def do_history(self, name, **_):
        changes = list(selectors.status_history(name))
        table = [("AT", "FROM", "TO", "WHY")]
        table += [(c.at.isoformat()[:19], c.from_status, c.to_status, c.reason) for c in changes]
        self.emit([_data("StatusChangeOut", c) for c in changes] if self.as_json else None, table)

    def do_clear_input(self, name, **_):
        self.show_session(services.session_clear_input(name))

    def do_send(self, name, text, **_):
        if text == "-":
            text = sys.stdin.read()
        message = services.session_send(name, text)
        self.say(_data("MessageOut", message), f"queued {message.id}: typed into {name} when it is idle")

    def do_keys(self, name, keys, **_):
        session = services.session_send_keys(name, keys)
        self.say(_data("SessionOut", session), f"pressed {' '.join(keys)}")

    def do_outbox(self, name, finished=False, **_):
        rows = [_data("MessageOut", m) for m in selectors.outbox(name, include_finished=finished)]
        table = [("ID", "STATE", "TRIES", "TEXT")] + [
            (r["id"], r["state"], r["attempts"], r["text"].splitlines()[0][:60] if r["text"] else "") for r in rows
        ]
        self.emit(rows, table)

    def do_cancel(self, message_id, **_):
        message = services.message_cancel(message_id)
        self.say(_data("MessageOut", message), f"cancelled {message.id}")

    def do_auto_dispatch(self, name, state, **_):
        self.show_session(services.session_set_auto_dispatch(name, state == "on"))

    def do_questions(self, name, closed=False, **_):
        rows = [_data("QuestionOut", q) for q in selectors.questions(name, include_closed=closed)]
        table = [("ID", "STATE", "ASKED", "QUESTION", "OPTIONS")] + [
            (r["id"], r["state"], _age(r["asked_at"]), r["text"].splitlines()[0][:60], " | ".join(r["options"]))
            for r in rows
        ]
        self.emit(rows, table)

    def do_answer(self, name, text, question_id=None, **_):
        if text == "-":
            text = sys.stdin.read()
        question = agent_reports.question_answer(name, text, question_id=question_id)
        self.say(
            _data("QuestionOut", question), f"answered {question.id}: typed into {name} as a message when it is idle"
        )
