"""Documents and tasks in a real browser: a task made from lines selected in a document, assigned to a fake agent,
its prompt seen arriving in the terminal mirror, the task moving to review, and the reference turning stale when
the document is edited on disk."""

import pytest
from playwright.sync_api import expect

from tests.pages.conftest import drag_over_lines, wait_for
from tests.sessions_app.conftest import received_prompts

pytestmark = [pytest.mark.browser, pytest.mark.integration, pytest.mark.timeout(120)]

PLAN = [
    "# Plan",
    "",
    "Some context first.",
    "The cache must expire after ten minutes.",
    "Entries are keyed by the user's id.",
    "A miss reads through to the database.",
    "",
    "## Later",
    "Nothing else for now.",
]


@pytest.fixture
def plan(stack):
    docs = stack.project.root / "docs"
    docs.mkdir(exist_ok=True)
    path = docs / "plan.md"
    path.write_text("\n".join(PLAN) + "\n")
    return path


def test_a_task_made_from_selected_lines_is_assigned_and_followed(page, stack, plan, screenshot):
    stack.manage("sessions", "new", "agent", "--profile", "fake")

    page.goto("/documents/")
    page.get_by_role("link", name="docs/plan.md").click(timeout=15_000)
    expect(page.locator("#L4")).to_contain_text("expire after ten minutes")
    # drag over the line numbers 4 to 6
    drag_over_lines(page, 4, 5, 6)
    expect(page.locator("#L5")).to_have_class("line selected")
    expect(page.locator("#sel-start")).to_have_value("4")
    expect(page.locator("#sel-end")).to_have_value("6")
    page.get_by_label("New task").fill("Implement the cache")
    page.get_by_role("button", name="Create task from these lines").click()
    expect(page.locator("#flash")).to_contain_text("Task #1 created")
    # the reference appears beside its lines, live
    expect(page.locator("#L4 .ref-chip")).to_contain_text("#1 L4\u20136")
    screenshot(page, "document")

    page.locator("#flash").get_by_role("link", name="Open task #1").click()
    expect(page.locator("#task-detail")).to_have_attribute("data-status", "ready")
    expect(page.locator("#task-detail .references")).to_contain_text("docs/plan.md:4-6")
    page.locator("#assign").get_by_label("Session").select_option("agent")
    page.locator("#assign").get_by_role("button", name="Assign").click()
    expect(page.locator("#flash")).to_contain_text("assigned to agent")
    expect(page.locator("#timeline")).to_contain_text("to agent")
    prompt = page.locator("#timeline pre.prompt")
    expect(prompt).to_contain_text("The cache must expire after ten minutes.", use_inner_text=False)

    page.goto("/sessions/agent/")
    expect(page.locator("#screen")).to_contain_text("Implement the cache", timeout=15_000)
    wait_for(
        lambda: any("The cache must expire after ten minutes." in p for p in received_prompts(stack.project.log)),
        what="the prompt in the agent's log",
    )

    page.goto("/tasks/")
    expect(page.locator("#column-review #task-1")).to_be_visible(timeout=20_000)
    screenshot(page, "board")

    # an edit on disk makes the reference stale: the board, the task and the document say so
    plan.write_text(plan.read_text().replace("ten minutes", "five minutes"))
    expect(page.locator("#task-1 .stale-flag")).to_contain_text("1 stale", timeout=10_000)
    page.goto("/tasks/1/")
    reference = page.locator("#task-detail .references li").first
    expect(reference.locator(".badge")).to_contain_text("stale")
    expect(reference.locator("pre.diff")).to_contain_text("five minutes")
    screenshot(page, "task")
    page.goto("/documents/docs/plan.md")
    expect(page.locator("#L4")).to_have_class("line ref-stale")
    expect(page.locator("#L4 .ref-chip")).to_contain_text("stale")
    page.goto("/documents/")
    screenshot(page, "documents")


def test_the_board_creates_filters_and_moves_tasks(page, stack, screenshot):
    page.goto("/tasks/")
    form = page.get_by_role("form", name="Quick create")
    form.get_by_label("New task").fill("Write the docs")
    form.get_by_label("Labels").fill("docs")
    form.get_by_role("button", name="Add").click()
    card = page.locator("#column-ready #task-1")
    expect(card).to_be_visible()
    # one move menu per card; the empty columns are narrow, the count beside each name is its cards
    expect(card.locator("details.move-menu")).to_have_count(1)
    expect(card.get_by_role("button", name="Backlog")).to_be_hidden()
    ready, done = page.locator("#column-ready").bounding_box(), page.locator("#column-done").bounding_box()
    assert done["width"] < ready["width"] / 2, (ready, done)
    for column in page.locator(".column").all():
        assert int(column.locator(".count").inner_text()) == column.locator(".task-card").count()
    card.locator("summary").click()
    expect(card.get_by_role("button", name="Cancelled")).to_be_visible()
    screenshot(page, "board-move-menu")
    card.get_by_role("button", name="Backlog").click()
    expect(page.locator("#column-backlog #task-1")).to_be_visible()
    expect(page.locator("#column-ready")).to_have_class("column col-ready column-empty")
    # a drag to another column moves it too (once the move's live updates have re-rendered the board: a drag
    # whose card is replaced under the pointer is cancelled by the browser)
    page.wait_for_function("Date.now() - Number(document.body.dataset.lastUpdate || 0) > 700")
    page.locator("#task-1").drag_to(page.locator("#column-ready"))
    expect(page.locator("#column-ready #task-1")).to_be_visible()
    stack.manage("tasks", "add", "From the command line", "--priority", "5")
    expect(page.locator("#column-ready #task-2")).to_contain_text("From the command line", timeout=15_000)
    page.goto("/tasks/?label=docs")
    expect(page.locator(".task-card")).to_have_count(1)


def test_a_move_answered_after_a_live_update_replaced_its_card_keeps_one_flash_area(page, stack):
    # The move form is detached when its answer comes (the card was re-rendered meanwhile): the answer still
    # replaces the flash area whole instead of nesting inside it, so the message shows and later actions have a
    # flash area to answer in.
    page.goto("/tasks/")
    form = page.get_by_role("form", name="Quick create")
    form.get_by_label("New task").fill("Write the docs")
    form.get_by_role("button", name="Add").click()
    expect(page.locator("#column-ready #task-1")).to_be_visible()
    page.evaluate(
        """() => {
        const card = document.getElementById("task-1");
        card.querySelector("form.move-choices button[value=backlog]").click();
        card.replaceWith(card.cloneNode(true));
    }"""
    )
    expect(page.locator("#flash")).to_contain_text("Task #1 moved to Backlog.")
    assert page.locator("#flash").count() == 1
    assert page.locator("#flash #flash").count() == 0
