"""A task's review in a real browser: a file changed on disk while the task is in progress is its own, the board's
review card counts it, the task page shows its diff; a comment on a line goes back to the agent as one message
naming file:line and the task is in progress again; back in review, Approve makes it done."""

import pytest
from playwright.sync_api import expect

from sessions_app.models import OutboxMessage
from tasks_app.models import Task
from tests.pages.conftest import WIDTHS, wait_for
from tests.sessions_app.conftest import received_prompts
from tests.tasks_app.test_changes_git import run_git

pytestmark = [pytest.mark.browser, pytest.mark.integration, pytest.mark.timeout(150)]


def test_a_comment_goes_back_to_the_agent_with_its_file_and_line_and_approval_makes_it_done(page, stack, screenshot):
    root = stack.project.root
    (root / "src").mkdir()
    (root / "src" / "count.py").write_text("one\ntwo\nthree\n")
    run_git(root, "init", "-q", "-b", "main")
    run_git(root, "add", "-A")
    run_git(root, "commit", "-q", "-m", "start")
    stack.manage("sessions", "new", "agent", "--profile", "fake")
    stack.manage("tasks", "add", "Count to four", "--description", "Take your time: work:6")
    stack.manage("tasks", "assign", "1", "agent")
    wait_for(lambda: any("Count to four" in p for p in received_prompts(stack.project.log)), what="the prompt")
    wait_for(lambda: Task.objects.get(pk=1).status == "in_progress", what="the task in progress")
    (root / "src" / "count.py").write_text("one\ntwo\nthree\nfour\n")

    page.goto("/tasks/")
    expect(page.locator("#column-review #task-1")).to_contain_text("1 file changed", timeout=30_000)
    page.goto("/tasks/1/")
    review = page.locator("#review")
    expect(review).to_contain_text("src/count.py")
    expect(review.locator("tr.add .code")).to_have_text("four")
    screenshot(page, "review")
    page.set_viewport_size({"width": WIDTHS["phone"][0], "height": WIDTHS["phone"][1]})
    # on a phone too the new line's number is there to comment on
    expect(review.get_by_role("button", name="Comment on src/count.py:4")).to_be_visible()
    page.set_viewport_size({"width": WIDTHS["laptop"][0], "height": WIDTHS["laptop"][1]})

    review.get_by_role("button", name="Comment on src/count.py:4").click()
    expect(review.get_by_label("Line", exact=True)).to_have_value("4")
    review.get_by_label("Comment", exact=True).fill("four is one too many")
    review.get_by_role("button", name="Add comment").click()
    expect(review.locator(".review-comments")).to_contain_text("src/count.py:4 four is one too many")
    review.get_by_role("button", name="Request changes (1 comment)").click()
    expect(page.locator("#flash")).to_contain_text("in progress again")

    sent = OutboxMessage.objects.filter(session="agent", text__contains="src/count.py:4")
    assert [m.text.splitlines()[1] for m in sent] == ["- src/count.py:4: four is one too many"]
    wait_for(lambda: any("src/count.py:4" in p for p in received_prompts(stack.project.log)), what="the comments")
    expect(page.locator("#task-detail")).to_have_attribute("data-status", "review", timeout=30_000)
    expect(review.locator(".review-comments")).to_contain_text("sent to the agent")
    page.locator("#review").get_by_role("button", name="Approve").click()
    expect(page.locator("#task-detail")).to_have_attribute("data-status", "done")
    task = Task.objects.get(pk=1)
    assert task.status == "done" and task.result_note == "approved in review"
