"""The task and document pages as a person uses them, in a real browser: a task edited on its page (and a change
made meanwhile refused with the typed text kept), lines chosen by typing their numbers, messages shown where the
person is looking, forms emptied after they succeeded, and the login page of a person not logged in yet."""

import pytest
from playwright.sync_api import expect

from events_app import store
from tasks_app import selectors as task_selectors
from tasks_app import services as task_services
from tasks_app.models import Task
from tests.pages.conftest import WIDTHS, drag_over_lines

pytestmark = [pytest.mark.browser, pytest.mark.integration, pytest.mark.timeout(150)]


@pytest.fixture
def docs(stack):
    folder = stack.project.root / "docs"
    folder.mkdir(exist_ok=True)
    (folder / "plan.md").write_text(
        "# Plan\n\nThe cache must expire.\nEntries are keyed by id.\nA miss reads through.\n"
    )
    (folder / "long.md").write_text("".join(f"Line {n} of the long spec.\n" for n in range(1, 121)))
    return folder


def _discovered(page, path: str) -> None:
    page.goto("/documents/")
    expect(page.get_by_role("link", name=path)).to_be_visible(timeout=40_000)


def _open(details) -> None:
    if not details.evaluate("element => element.open"):
        details.locator("summary").click()
    expect(details).to_have_attribute("open", "")


def test_a_task_is_edited_on_its_page_and_a_change_meanwhile_keeps_the_typed_text(page, stack, docs, screenshot):
    with store.event_context(actor="test", source="test"):
        task_services.task_create("Write the parser", labels=["parser"])
    _discovered(page, "docs/plan.md")
    page.goto("/tasks/1/")
    edit = page.locator("#task-edit")
    _open(edit)
    edit.get_by_label("Title").fill("Write the tokenizer")
    edit.get_by_label("Description").fill("Split the input into tokens.")
    edit.get_by_label("Priority").fill("3")
    edit.get_by_label("Labels").fill("parser, lexer")
    screenshot(page, "task-edit")
    edit.get_by_role("button", name="Save").click()
    expect(page.locator("#flash")).to_contain_text("Task #1 saved.")
    detail = page.locator("#task-detail")
    expect(detail.locator("h1")).to_contain_text("Write the tokenizer")
    expect(detail.locator(".status-line")).to_contain_text("lexer")
    expect(detail.locator(".description")).to_contain_text("Split the input into tokens.")

    # references and dependencies from the same page
    references = page.get_by_role("form", name="Add a reference")
    references.get_by_label("Document").fill("docs/plan.md")
    references.get_by_label("From line").fill("3")
    references.get_by_label("to", exact=True).fill("4")
    references.get_by_role("button", name="Add reference").click()
    expect(detail.locator(".references")).to_contain_text("docs/plan.md:3-4")
    with store.event_context(actor="test", source="test"):
        task_services.task_create("Design the grammar")
    page.get_by_label("Waits for task #").fill("2")
    page.get_by_role("button", name="Add dependency").click()
    expect(detail.locator(".deps")).to_contain_text("#2 Design the grammar")

    # someone else changes the task while the person types: the form keeps what was typed, saving is refused
    _open(edit)
    edit.get_by_label("Title").fill("My own title")
    with store.event_context(actor="test", source="test"):
        task_services.task_update(1, expected_version=task_selectors.task(1).version, priority=9)
    expect(detail.locator(".status-line .prio")).to_contain_text("9")
    expect(edit.get_by_label("Title")).to_have_value("My own title")
    edit.get_by_role("button", name="Save").click()
    expect(page.locator("#flash")).to_contain_text("Task #1 was changed since this page showed it")
    expect(page.locator("#flash")).to_contain_text("What you typed is still in the form")
    expect(edit.get_by_label("Title")).to_have_value("My own title")
    assert task_selectors.task(1).title == "Write the tokenizer"
    edit.get_by_role("button", name="Discard").click()
    expect(edit.get_by_label("Title")).to_have_value("Write the tokenizer")
    expect(edit.get_by_label("Priority")).to_have_value("9")
    screenshot(page, "task-edited")


def test_typed_line_numbers_are_used_and_the_message_shows_where_the_person_is(page, stack, docs, screenshot):
    _discovered(page, "docs/long.md")
    page.get_by_role("link", name="docs/long.md").click()
    drag_over_lines(page, 41, 44, 47)
    expect(page.locator("#sel-start")).to_have_value("41")
    expect(page.locator("#sel-end")).to_have_value("47")
    page.locator("#sel-start").fill("60")
    expect(page.locator("#sel-end")).to_have_value("47")
    page.locator("#sel-end").fill("75")
    expect(page.locator("#sel-start")).to_have_value("60")
    expect(page.locator("#L70")).to_have_class("line selected")
    # far down the document, as a person reading it is
    page.locator("#L100").scroll_into_view_if_needed()
    assert page.evaluate("window.scrollY") > 1000
    title = page.get_by_label("New task")
    title.fill("Cover lines 60 to 75")
    create = page.get_by_role("button", name="Create task from these lines")
    create.click()
    toast = page.locator("#flash .msg")
    expect(toast).to_contain_text("Task #1 created")
    expect(toast).to_be_in_viewport()
    expect(title).to_have_value("")
    expect(page.locator("#L60 .ref-chip")).to_contain_text("#1 L60\u201375")
    assert [(r.start, r.end) for r in task_selectors.references(1)] == [(60, 75)]
    create.click()  # a second click with the title emptied makes no second task
    page.wait_for_timeout(500)
    assert Task.objects.count() == 1
    screenshot(page, "document-lines-typed")


def test_the_login_page_shows_no_navigation_and_lines_up_its_button(chromium, stack, screenshot):
    for width, height in WIDTHS.values():
        context = chromium.new_context(viewport={"width": width, "height": height}, base_url=stack.url)
        try:
            tab = context.new_page()
            tab.goto("/login/")
            expect(tab.get_by_role("heading", name="Log in to Chorus")).to_be_visible()
            expect(tab.get_by_role("navigation")).to_have_count(0)
            expect(tab.get_by_role("link", name="Tasks")).to_have_count(0)
            field = tab.get_by_label("Token").bounding_box()
            button = tab.get_by_role("button", name="Log in").bounding_box()
            if width == WIDTHS["laptop"][0]:
                # beside the field, bottoms level
                assert abs((field["y"] + field["height"]) - (button["y"] + button["height"])) <= 2, (field, button)
                screenshot(tab, "login")
            else:
                # under the full-width field, left edges level
                assert abs(field["x"] - button["x"]) <= 2 and button["y"] >= field["y"] + field["height"], (
                    field,
                    button,
                )
        finally:
            context.close()
