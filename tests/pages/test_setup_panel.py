"""The Sessions page's setup check in a real browser: the panel arrives by itself (htmx, from /doctor/) with the
lines to look at, and /doctor/ lists every line."""

import pytest
from playwright.sync_api import expect

pytestmark = [pytest.mark.browser, pytest.mark.integration, pytest.mark.timeout(90)]


def test_the_overview_shows_the_setup_check_and_links_to_every_line(page, screenshot):
    page.goto("/")
    panel = page.locator("#setup-panel")
    expect(panel.get_by_role("heading", name="Setup check")).to_be_visible(timeout=30_000)
    # The test machine has no real agent CLI: the panel names one, with what to do.
    expect(panel).to_contain_text("not installed (not on PATH)")
    expect(page.locator(".empty code")).to_contain_text("chorus.py sessions new NAME")
    screenshot(page, "overview-setup-check")
    panel.get_by_role("link").click()
    expect(page).to_have_url(page.url.split("/doctor/")[0] + "/doctor/")
    expect(page.locator(".doctor")).to_contain_text("tmux")
    expect(page.locator(".doctor")).to_contain_text("serving on")
    screenshot(page, "setup-check")
