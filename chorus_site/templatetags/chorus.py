"""Template helpers of the pages: statuses as text plus a shape (never colour alone), durations, JSON, and `{% url %}`
remembering what it reversed."""

from __future__ import annotations

import functools
import json
import re
from datetime import datetime

from django import template
from django.template import defaulttags
from django.urls import NoReverseMatch, get_resolver, get_script_prefix, get_urlconf, reverse
from django.utils import timezone
from django.utils.html import conditional_escape, escape
from django.utils.safestring import mark_safe

from tasks_app import selectors as task_selectors

register = template.Library()


@functools.lru_cache(maxsize=8192)
def _reversed(where: tuple, view_name: str, args: tuple, kwargs: tuple) -> str:
    # `where` (the resolver, the script prefix, the current app) is part of the key: a changed URLconf (a new
    # resolver) or prefix reverses afresh.
    resolver, _prefix, current_app = where
    return reverse(view_name, urlconf=resolver.urlconf_name, args=args, kwargs=dict(kwargs), current_app=current_app)


_WHERE = object()  # the render context's key for `where`, looked up once per template rendered


def _where(context) -> tuple:
    try:
        current_app = context.request.current_app
    except AttributeError:
        try:
            current_app = context.request.resolver_match.namespace
        except AttributeError:
            current_app = None
    return (get_resolver(get_urlconf()), get_script_prefix(), current_app)


class RememberedURLNode(defaulttags.URLNode):
    def render(self, context) -> str:
        args = tuple(arg.resolve(context) for arg in self.args)
        kwargs = tuple((k, v.resolve(context)) for k, v in self.kwargs.items())
        view_name = self.view_name.resolve(context)
        where = context.render_context.get(_WHERE)
        if where is None:
            where = context.render_context[_WHERE] = _where(context)
        url = ""
        try:
            try:
                url = _reversed(where, view_name, args, kwargs)
            except TypeError:  # an argument that cannot be a key: reverse it every time
                url = reverse(view_name, args=args, kwargs=dict(kwargs), current_app=where[2])
        except NoReverseMatch:
            if self.asvar is None:
                raise
        if self.asvar:
            context[self.asvar] = url
            return ""
        return conditional_escape(url) if context.autoescape else url


@register.tag
def url(parser, token):
    """Django's `{% url %}`, same arguments and result, but a URL reversed once is remembered: a board of 300 cards
    or an overview of 100 sessions reverses the same few routes with ids it has seen before, and each reverse()
    costs tens of microseconds. Templates that `{% load chorus %}` get this one."""
    node = defaulttags.url(parser, token)
    return RememberedURLNode(node.view_name, node.args, node.kwargs, node.asvar)


# Each status has a shape as well as a colour, so it reads without colour vision and in a monochrome print.
STATUS_ICONS = {
    "waiting": "⚠",
    "busy": "◐",
    "idle": "○",
    "unknown": "?",
    "starting": "◌",
    "stopped": "■",
    "killed": "✕",
    "ended": "■",
    "live": "●",
}


@register.filter
def status_icon(status: str) -> str:
    return STATUS_ICONS.get(status, "·")


@register.filter
def age(when: datetime | None) -> str:
    """How long ago: "45s", "3m 12s", "2h 5m", "3d 4h"."""
    if when is None:
        return ""
    seconds = max(int((timezone.now() - when).total_seconds()), 0)
    if seconds < 60:
        return f"{seconds}s"
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes}m {seconds}s"
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return f"{hours}h {minutes}m"
    days, hours = divmod(hours, 24)
    return f"{days}d {hours}h"


# Where a name may break: before a capital that follows a small letter, after ":", "/", "_", "-" and ".".
NAME_SEAMS = re.compile(r"(?<=[a-z])(?=[A-Z])|(?<=[:/_.-])(?=.)")


@register.filter
def seams(name) -> str:
    """The name, escaped, with a break opportunity (<wbr>) at each of its seams: a narrow column wraps
    SessionStatusChanged as Session/Status/Changed, never mid-word."""
    return mark_safe("<wbr>".join(escape(part) for part in NAME_SEAMS.split(str(name))))  # noqa: S308 (escaped)


@register.filter
def pretty_json(value) -> str:
    return json.dumps(value, indent=2, ensure_ascii=False, sort_keys=True, default=str)


@register.filter
def session_state(session) -> str:
    """What a session is doing, in one word: its status while live, else how it ended."""
    return session.status if session.is_live else session.lifecycle


@register.filter
def get_item(mapping, key):
    return mapping.get(key, key) if hasattr(mapping, "get") else key


@register.filter
def changed_files(task) -> int:
    """How many files a task changed (a board card in the review column shows it)."""
    return task_selectors.changed_file_count(task.id)
