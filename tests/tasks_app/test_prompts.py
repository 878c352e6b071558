"""The prompt: title, description and the current text of each range under its `path:start-end` header."""

import pytest

from documents_app.content import split_lines
from tasks_app import documents, prompts, services
from tasks_app.errors import TaskError
from tasks_app.models import Reference
from tests.tasks_app.helpers import numbered

pytestmark = pytest.mark.django_db


@pytest.fixture
def task(docs):
    docs.write("docs/a.md", numbered(10))
    docs.write("notes.txt", "alpha\n```python\ncode\n```\nomega\n")
    return services.task_create(
        "Fix the parser",
        "It must accept **empty** lists.\n",
        labels=["parser"],
        priority=3,
        references=["docs/a.md:2-3", "notes.txt:1-5", "docs/a.md:9-9"],
    )


def references(task):
    return Reference.objects.filter(task_id=task.id).order_by("number")


def test_the_default_layout(task):
    assert prompts.build_prompt(task, references(task)) == (
        "Task 1: Fix the parser\n\n"
        "It must accept **empty** lists.\n\n"
        "docs/a.md:2-3\n```\nline 2\nline 3\n```\n\n"
        "notes.txt:1-5\n````\nalpha\n```python\ncode\n```\nomega\n````\n\n"
        "docs/a.md:9-9\n```\nline 9\n```"
    )


def test_the_text_is_read_now_and_each_document_once(task, docs, monkeypatch):
    docs.write("docs/a.md", numbered(10).replace("line 3", "line three"), scan=False)
    reads = []
    original = documents.read_text
    monkeypatch.setattr(documents, "read_text", lambda path: reads.append(path) or original(path))
    prompt = prompts.build_prompt(task, references(task))
    assert "line 2\nline three\n" in prompt
    assert reads == ["docs/a.md", "notes.txt"]


def test_a_template_file_lays_it_out(task, tmp_path, settings):
    template = tmp_path / "prompt.txt"
    template.write_text("[$priority] ${title} ($labels) costs $$0\n---\n${references}\n---\n${description}")
    settings.CHORUS_PROMPT_TEMPLATE = str(template)
    prompt = prompts.build_prompt(task, references(task)[:1])
    assert prompt == (
        "[3] Fix the parser (parser) costs $0\n---\ndocs/a.md:2-3\n```\nline 2\nline 3\n```\n---\n"
        "It must accept **empty** lists."
    )
    assert prompts.build_prompt(task, [], template="only ${id}") == "only 1"


def test_a_session_with_tools_is_told_which_to_call_when_done_or_stuck(task):
    prompt = prompts.build_prompt(task, [], tools=True)
    assert prompt == f"Task 1: Fix the parser\n\nIt must accept **empty** lists.\n\n{prompts.TOOLS}"
    for named in ("finish_task", "fail_task", "ask_human", "report_progress", 'chorus agent finish "summary"'):
        assert named in prompts.TOOLS
    assert (
        prompts.build_prompt(task, [], template="${title}\n${tools}", tools=True) == f"Fix the parser\n{prompts.TOOLS}"
    )
    assert prompts.build_prompt(task, [], template="${title}\n${tools}") == "Fix the parser"


@pytest.mark.parametrize(
    ("template", "error"),
    [
        (
            "${nope}",
            r"uses \$\{nope\}, which is not one of: description, id, labels, priority, references, title, tools",
        ),
        ("cost $", "malformed"),
    ],
)
def test_a_bad_template_is_a_clear_error(task, template, error):
    with pytest.raises(TaskError, match=error):
        prompts.build_prompt(task, references(task), template=template)


def test_a_missing_template_file_is_a_clear_error(task, settings, tmp_path):
    settings.CHORUS_PROMPT_TEMPLATE = str(tmp_path / "absent.txt")
    with pytest.raises(TaskError, match=r"CHORUS_PROMPT_TEMPLATE .*absent\.txt: cannot read"):
        prompts.build_prompt(task, references(task))


def test_a_vanished_document_is_named(task, docs):
    docs.remove("notes.txt")
    with pytest.raises(TaskError, match=r"reference notes\.txt:1-5: no document .notes\.txt. under PROJECT_ROOT"):
        prompts.build_prompt(task, references(task))


@pytest.mark.parametrize(
    "text",
    ["", "\n", "a", "a\n", "a\nb", "a\nb\n", "a\r\nb\r\n", "a\r\n\r\nb", "\n\nx\n\n", "a\rb\n", "é\n\x0cf\n"],
)
def test_first_lines_number_lines_as_documents_app_does(text):
    for count in range(6):
        assert documents.first_lines(text, count) == split_lines(text)[:count], (text, count)
