"""The approval policies' settings page in a real browser: an invalid file is a form error beside the text as typed
(nothing written), a valid one is in force at once, and the fleet-wide switch pauses and resumes."""

import pytest
from playwright.sync_api import expect

from tests.pages.conftest import WIDTHS

pytestmark = [pytest.mark.browser, pytest.mark.integration, pytest.mark.timeout(90)]

BAD = '[[approvals.rules]]\nname = "tests"\ndecision = "allow"\ncommand = "(pytest"\n'
GOOD = '[[approvals.rules]]\nname = "tests"\ndecision = "allow"\ntool = "Bash"\ncommand = "^pytest\\\\b"\n'


def test_the_approvals_page_refuses_a_bad_rule_beside_the_text_and_puts_a_good_one_in_force(page, stack, screenshot):
    page.goto("/settings/approvals")
    expect(page.get_by_role("heading", name="Rules in force (0)")).to_be_visible()
    screenshot(page, "settings-approvals")

    text = page.get_by_role("textbox", name="chorus.toml")
    kept = text.input_value()  # the project's profiles, which the page edits alongside
    text.fill(kept + BAD)
    page.get_by_role("button", name="Save").click()
    expect(page.locator("#policy-errors")).to_contain_text("command")
    expect(text).to_have_value(kept + BAD)
    expect(page.get_by_role("heading", name="Rules in force (0)")).to_be_visible()
    assert (stack.project.root / "chorus.toml").read_text() == kept  # nothing written
    page.set_viewport_size({"width": WIDTHS["phone"][0], "height": WIDTHS["phone"][1]})
    # the error names the file by its whole path: it wraps on a phone instead of widening the page
    assert page.evaluate("document.documentElement.scrollWidth") <= WIDTHS["phone"][0]
    page.set_viewport_size({"width": WIDTHS["laptop"][0], "height": WIDTHS["laptop"][1]})
    screenshot(page, "settings-approvals-error")

    text.fill(kept + GOOD)
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_text("Saved: 1 rule(s) in force.")).to_be_visible()
    expect(page.locator("ol.rules")).to_contain_text("allow tests · tool Bash · command ^pytest\\b")

    page.get_by_placeholder("why (optional)").fill("the night shift")
    page.get_by_role("button", name="Pause").click()
    expect(page.locator(".warning")).to_contain_text("(the night shift): every request asks a person")
    expect(page.get_by_role("heading", name="Rules, paused (1): every request asks a person")).to_be_visible()
    screenshot(page, "settings-approvals-paused")
    page.get_by_role("button", name="Resume").click()
    expect(page.get_by_text("The rules are in force.")).to_be_visible()
