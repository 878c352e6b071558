"""The board's columns: the count beside a column's name always says how many of its cards there are, and a
change that lands while the board is being read cannot split them."""

import pytest
from django.db import connection

from chorus_site.pages import board as board_page
from tasks_app import services as task_services

pytestmark = pytest.mark.django_db


def _column(context: dict, status: str):
    return next(c for c in context["columns"] if c.status == status)


def test_a_task_moved_while_the_board_is_read_is_counted_where_it_is_shown():
    task = task_services.task_create("Moving")
    moved = []

    def move_after_the_first_read(execute, sql, params, many, context):
        result = execute(sql, params, many, context)
        if not moved and sql.lstrip().upper().startswith("SELECT") and "chorus_task" in sql:
            moved.append(True)
            task_services.task_set_status(task.id, "backlog", expected_version=task.version)
        return result

    with connection.execute_wrapper(move_after_the_first_read):
        context = board_page.board({})
    assert moved
    for column in context["columns"]:
        assert column.count == len(column.tasks), column.status
    assert context["total"] == 1


def test_a_full_column_counts_all_its_tasks_and_shows_the_first(monkeypatch):
    monkeypatch.setattr(board_page, "COLUMN_LIMIT", 2)
    for priority in (1, 3, 2):
        task_services.task_create(f"Priority {priority}", priority=priority)
    task_services.task_create("Later", status="backlog")
    context = board_page.board({})
    ready = _column(context, "ready")
    assert ready.count == 3 and [t.priority for t in ready.tasks] == [3, 2]
    assert _column(context, "backlog").count == 1 and _column(context, "done").count == 0
    assert context["total"] == 4
    filtered = board_page.board({"q": "Priority 1"})
    assert [(c.status, c.count, len(c.tasks)) for c in filtered["columns"] if c.count] == [("ready", 1, 1)]


def test_empty_columns_are_collapsed_and_each_card_has_one_move_menu():
    task_services.task_create("Only one")
    html = board_page.BoardPage({}).snapshot()
    assert 'id="column-ready" class="column col-ready"' in html
    assert 'id="column-done" class="column col-done column-empty"' in html
    card = html[html.index('id="task-1"') :]
    card = card[: card.index("</li>")]
    assert card.count("<details") == 1 and card.count('class="move-menu"') == 1
    assert 'value="backlog"' in card and 'value="cancelled"' in card
