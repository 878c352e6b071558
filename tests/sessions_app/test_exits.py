"""Why an agent ended, as its card says it: the exit status's meaning and, soon after its start, its last lines."""

from sessions_app.exits import ended_reason, exit_meaning, last_lines


def test_exit_statuses_that_mean_something():
    assert exit_meaning(127) == "command not found"
    assert exit_meaning(126) == "the command was found but cannot be executed"
    assert exit_meaning(130) == "killed by SIGINT"
    assert exit_meaning(137) == "killed by SIGKILL"
    assert exit_meaning(1) == exit_meaning(0) == exit_meaning(None) == ""


def test_an_early_death_says_how_soon_and_what_it_printed_last():
    screen = "\x1b[1mcodex v1\x1b[0m\n\nError: OPENAI_API_KEY is not set\n\n\n"
    assert ended_reason("pane dead (exit 1)", 1, 2.2, screen) == (
        "pane dead (exit 1); it ended 2 s after it started; its last lines: codex v1 ⏎ Error: OPENAI_API_KEY is not set"
    )
    assert ended_reason("pane dead (exit 127)", 127, 0.4, "sh: 1: exec: codex: not found\n") == (
        "pane dead (exit 127): command not found; it ended 0 s after it started; "
        "its last lines: sh: 1: exec: codex: not found"
    )


def test_a_late_end_keeps_its_reason_with_the_meaning_only():
    assert ended_reason("pane dead (exit 130)", 130, 3600, "bye\n") == "pane dead (exit 130): killed by SIGINT"
    assert ended_reason("its tmux pane is gone", None, 3600, "") == "its tmux pane is gone"


def test_last_lines_are_the_last_non_blank_rows_cut_short():
    assert last_lines("a\n\nb\nc\n" + "x" * 500 + "\n\n") == ["b", "c", "x" * 160]
    assert last_lines("Error: no key\n\n\nPane is dead (status 1, Wed Dec  2 06:27:39 2026)\n") == ["Error: no key"]
