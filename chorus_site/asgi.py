"""ASGI entry point: Django for HTTP, the agents' MCP server at /mcp/ before it, Channels for websockets (origin and
host checked, then authenticated)."""

import asyncio
import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "chorus_site.settings")
django_asgi_app = get_asgi_application()

from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from channels.sessions import SessionMiddlewareStack  # noqa: E402

from chorus_site.auth import WebsocketAuthentication, WebsocketOriginCheck  # noqa: E402
from chorus_site.routing import websocket_urlpatterns  # noqa: E402

# Where the agents' endpoint is served (CHORUS_MCP_URL says where agents reach it, which a proxy may change).
MCP_PATHS = ("/mcp", "/mcp/")


def agent_endpoint():
    from chorus_site.mcp import AgentEndpoint
    from tasks_app.services import agent

    return AgentEndpoint(agent)


def with_agent_tools(site, load_endpoint):
    """The site's HTTP application with the agents' endpoint in front of it, at /mcp/: Django never sees those
    requests (its login and CSRF are for people; an agent has its session's credential).

    The endpoint is built by `load_endpoint` on the first request for it, in a thread: the MCP SDK takes seconds to
    import, which neither the site's start nor its pages should wait for."""
    loading: asyncio.Future | None = None

    async def application(scope, receive, send) -> None:
        nonlocal loading
        if scope["path"] not in MCP_PATHS:
            return await site(scope, receive, send)
        if loading is None:
            loading = asyncio.ensure_future(asyncio.to_thread(load_endpoint))
        # Shielded: a request that goes away must not cancel the loading the next requests wait for.
        endpoint = await asyncio.shield(loading)
        return await endpoint(scope, receive, send)

    return application


application = ProtocolTypeRouter(
    {
        "http": with_agent_tools(django_asgi_app, agent_endpoint),
        "websocket": WebsocketOriginCheck(
            SessionMiddlewareStack(WebsocketAuthentication(URLRouter(websocket_urlpatterns)))
        ),
    }
)
