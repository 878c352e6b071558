"""Every page kind, by the name its websocket asks for (`/ws/page/?page=<name>&...`): a new page kind is a module
beside this one and a line here."""

from __future__ import annotations

from collections.abc import Mapping

from chorus_site.pages.base import LivePage, PageNotFound
from chorus_site.pages.board import BoardPage
from chorus_site.pages.documents import DocumentPage, DocumentsPage
from chorus_site.pages.events import EventsPage
from chorus_site.pages.overview import OverviewPage
from chorus_site.pages.session import SessionPage
from chorus_site.pages.task import TaskPage

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
