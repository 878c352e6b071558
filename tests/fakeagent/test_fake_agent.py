"""The fake agent's input parsing and layout helpers, without a terminal."""

from tests.fakeagent.fake_agent import InputParser, fit, printable, wrap


def feed_all(*chunks: bytes) -> list[tuple[str, str]]:
    parser = InputParser()
    return [event for chunk in chunks for event in parser.feed(chunk)]


def test_typed_text_and_enter():
    assert feed_all(b"hello\r") == [("text", "hello"), ("key", "enter")]


def test_utf8_split_across_reads():
    data = "é中🎉".encode()
    assert "".join(value for _, value in feed_all(*(data[i : i + 1] for i in range(len(data))))) == "é中🎉"


def test_bracketed_paste_keeps_line_breaks_and_key_bytes():
    events = feed_all(b"\x1b[200~one\rtwo\x03\x1b[201~\r")
    assert events == [("paste", "one\rtwo\x03"), ("key", "enter")]


def test_paste_end_marker_split_across_reads():
    events = feed_all(b"\x1b[200~abc\x1b[2", b"01", b"~x")
    assert events == [("paste", "abc"), ("text", "x")]


def test_lone_escape_is_a_key_once_input_is_quiet():
    parser = InputParser()
    assert parser.feed(b"\x1b") == []
    assert parser.flush() == [("key", "escape")]


def test_escape_followed_by_a_digit_is_two_keys():
    assert feed_all(b"\x1b2") == [("key", "escape"), ("text", "2")]


def test_arrows_and_control_keys():
    events = feed_all(b"\x1b[A\x1bOB\x1b[Z\x03\x04\x7f\t\n")
    assert [value for _, value in events] == ["up", "down", "btab", "ctrl-c", "ctrl-d", "backspace", "tab", "newline"]


def test_unfinished_sequence_becomes_escape_then_text_when_quiet():
    parser = InputParser()
    assert parser.feed(b"\x1b[") == []
    assert parser.flush() == [("key", "escape"), ("text", "[")]


def test_fit_and_wrap_count_wide_characters_as_two_cells():
    assert fit("中文ab", 3) == "中"
    assert wrap("中文abc", 4) == ["中文", "abc"]
    assert wrap("", 10) == [""]


def test_printable_expands_tabs_and_hides_control_characters():
    assert printable("a\tb\x1bc\x9b") == "a   b?c?"
