"""/api/docs in a real browser with every request beyond the server refused: the vendored Swagger UI renders the
API's operations (it was a blank page offline when it came from a CDN)."""

from urllib.parse import urlsplit

import pytest
from playwright.sync_api import expect

pytestmark = [pytest.mark.browser, pytest.mark.integration, pytest.mark.timeout(90)]


def test_the_api_docs_render_their_operations_with_the_network_closed(chromium, server, screenshot):
    context = chromium.new_context(viewport={"width": 1280, "height": 860}, base_url=server.url)
    elsewhere: list[str] = []

    def offline(route):
        if urlsplit(route.request.url).hostname == "127.0.0.1":
            route.continue_()
        else:
            elsewhere.append(route.request.url)
            route.abort("internetdisconnected")

    context.route("**/*", offline)
    tab = context.new_page()
    errors: list[str] = []
    tab.on("pageerror", lambda exc: errors.append(str(exc)))
    try:
        tab.goto(f"/login/?token={server.token}&next=/api/docs")
        expect(tab.locator(".swagger-ui .info .title")).to_contain_text("Chorus API")
        expect(tab.locator(".opblock-summary-path", has_text="/api/sessions/{name}/kill").first).to_be_visible()
        assert tab.locator(".opblock").count() > 40
        screenshot(tab, "api-docs")
    finally:
        context.close()
    assert elsewhere == [], f"the docs asked beyond the server: {elsewhere}"
    assert not errors, f"JavaScript errors: {errors}"
