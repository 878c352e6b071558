"""Usage readers: Claude Code transcripts and Codex rollouts read incrementally, deduplicated, never counted twice;
prices as data.

The records are made here in the agents' formats. Claude Code's transcript lines follow what its docs and public
readers of it show (code.claude.com/docs/en/hooks: `transcript_path`; ryoppippi/ccusage `data-loader.ts`): an
assistant line carries `message.id`, `message.model`, `message.usage` {input_tokens, output_tokens,
cache_creation_input_tokens, cache_read_input_tokens} and `requestId`, one line per content block with the same
usage. Codex's rollout lines follow openai/codex `codex-rs/protocol` (RolloutLine: timestamp, type, payload;
`session_meta`, `turn_context` with model, `event_msg` token_count with info.total_token_usage / last_token_usage)
as ccusage's apps/codex reads them.
"""

import datetime
import hashlib
import json
import os
import time

import pytest

from sessions_app.agents import USAGE_READERS, claude, codex, gemini
from sessions_app.prices import SHIPPED, PriceBook, PricesError, parse
from sessions_app.usage import Cursor, SessionRef, Turn, read_new

CLAUDE = claude.TRANSCRIPT
CODEX = codex.ROLLOUT


def assistant(message_id, request_id, model="claude-sonnet-4-5-20250929", **usage):
    tokens = {
        "input_tokens": 10,
        "output_tokens": 20,
        "cache_creation_input_tokens": 30,
        "cache_read_input_tokens": 40,
        **usage,
    }
    message = {"id": message_id, "type": "message", "role": "assistant", "model": model, "usage": tokens}
    message["content"] = [{"type": "text", "text": "hi"}]
    return {"type": "assistant", "uuid": f"u-{message_id}", "requestId": request_id, "message": message}


def lines(*records) -> bytes:
    return b"".join(json.dumps(record).encode() + b"\n" for record in records)


def test_each_message_counts_once_although_claude_writes_a_line_per_content_block(tmp_path):
    path = tmp_path / "t.jsonl"
    user = {"type": "user", "message": {"role": "user", "content": "go"}}
    path.write_bytes(lines(user, assistant("m1", "r1"), assistant("m1", "r1"), assistant("m2", "r2", output_tokens=5)))
    read = read_new(CLAUDE, Cursor(str(path)))
    assert read.turns == [
        Turn("claude-sonnet-4-5-20250929", input=10, output=20, cache_read=40, cache_write=30),
        Turn("claude-sonnet-4-5-20250929", input=10, output=5, cache_read=40, cache_write=30),
    ]
    assert read.cursor.offset == path.stat().st_size


def test_a_refused_request_s_synthetic_message_is_no_turn(tmp_path):
    # Claude Code 2.1.330's transcript in the conformance kit, refused at its plan's limit (fields trimmed)
    refused = {
        "type": "assistant",
        "isApiErrorMessage": True,
        "error": "rate_limit",
        "apiError": "usage_limit_reached",
        "message": {
            "id": "f1c0",
            "model": "<synthetic>",
            "role": "assistant",
            "usage": {"input_tokens": 0, "output_tokens": 0},
            "content": [{"type": "text", "text": "You've hit your 5-hour limit · resets 6:31pm (UTC)"}],
        },
    }
    path = tmp_path / "t.jsonl"
    path.write_bytes(lines(refused, assistant("m1", "r1")))
    assert [turn.model for turn in read_new(CLAUDE, Cursor(str(path))).turns] == ["claude-sonnet-4-5-20250929"]


def test_a_block_of_a_message_counted_in_the_previous_read_is_not_counted_again(tmp_path):
    path = tmp_path / "t.jsonl"
    path.write_bytes(lines(assistant("m1", "r1")))
    first = read_new(CLAUDE, Cursor(str(path)))
    with open(path, "ab") as file:
        file.write(lines(assistant("m1", "r1"), assistant("m2", "r2")))
    second = read_new(CLAUDE, first.cursor)
    assert len(first.turns) == 1
    assert [turn.output for turn in second.turns] == [20]


def test_a_line_still_being_written_waits_and_a_line_that_is_not_json_is_skipped_and_counted(tmp_path):
    path = tmp_path / "t.jsonl"
    whole = json.dumps(assistant("m2", "r2")).encode()
    path.write_bytes(lines(assistant("m1", "r1")) + b"{not json\n" + whole[:25])
    first = read_new(CLAUDE, Cursor(str(path)))
    assert (len(first.turns), first.bad_lines) == (1, 1)
    assert first.cursor.offset == path.stat().st_size - 25
    with open(path, "ab") as file:
        file.write(whole[25:] + b"\n")
    second = read_new(CLAUDE, first.cursor)
    assert ([turn.output for turn in second.turns], second.bad_lines) == ([20], 0)
    assert read_new(CLAUDE, second.cursor).turns == []


def test_nothing_is_read_again_when_nothing_was_written(tmp_path):
    path = tmp_path / "t.jsonl"
    path.write_bytes(lines(assistant("m1", "r1")))
    cursor = read_new(CLAUDE, Cursor(str(path))).cursor
    again = read_new(CLAUDE, cursor)
    assert (again.turns, again.bytes_read, again.cursor.offset) == ([], 0, cursor.offset)


def test_a_cut_file_is_read_on_from_its_new_end_and_a_rotated_one_from_its_start(tmp_path):
    path = tmp_path / "t.jsonl"
    path.write_bytes(lines(assistant("m1", "r1"), assistant("m2", "r2")))
    cursor = read_new(CLAUDE, Cursor(str(path))).cursor
    path.write_bytes(lines(assistant("m1", "r1")))  # the same inode, shorter: its bytes were counted already
    cut = read_new(CLAUDE, cursor)
    assert (cut.restarted, cut.turns, cut.cursor.offset) == ("truncated", [], path.stat().st_size)
    replacement = tmp_path / "new.jsonl"
    replacement.write_bytes(lines(assistant("m2", "r2"), assistant("m3", "r3")))
    os.replace(replacement, path)  # another file under the name: read from its start, m2 is still known
    rotated = read_new(CLAUDE, cut.cursor)
    assert rotated.restarted == "rotated"
    assert len(rotated.turns) == 1


def test_a_file_not_there_yet_reads_as_nothing_and_keeps_its_cursor(tmp_path):
    cursor = Cursor(str(tmp_path / "later.jsonl"))
    read = read_new(CLAUDE, cursor)
    assert (read.turns, read.bytes_read, read.cursor) == ([], 0, cursor)


def test_the_claude_reader_finds_the_transcript_of_the_conversation_in_the_sessions_pane(tmp_path):
    home = tmp_path / "claude"
    (home / "sessions").mkdir(parents=True)
    pane = {"pid": 4242, "sessionId": "abc-123", "cwd": "/work/my.proj", "tmux": "chorus-a:@3.%7", "status": "idle"}
    other = {**pane, "pid": 4243, "sessionId": "other", "tmux": "chorus-b:@4.%8"}
    (home / "sessions" / "4242.json").write_text(json.dumps(pane))
    (home / "sessions" / "4243.json").write_text(json.dumps(other))
    (home / "sessions" / "4244.json").write_text("{broken")
    ref = SessionRef("a", "/work/my.proj", "%7", 100, 0.0)
    found = CLAUDE.files(ref, {"CLAUDE_CONFIG_DIR": str(home)})
    assert found == [home / "projects" / "-work-my-proj" / "abc-123.jsonl"]


def rollout(*records):
    meta = {"type": "session_meta", "payload": {"id": "019a", "cwd": "/work/proj", "cli_version": "0.169.0"}}
    return lines(meta, *records)


def token_count(total_input, cached, output, reasoning=0):
    totals = {
        "input_tokens": total_input,
        "cached_input_tokens": cached,
        "output_tokens": output,
        "reasoning_output_tokens": reasoning,
        "total_tokens": total_input + output,
    }
    info = {"total_token_usage": totals, "last_token_usage": totals, "model_context_window": 272000}
    return {"timestamp": "2026-12-02T10:00:00Z", "type": "event_msg", "payload": {"type": "token_count", "info": info}}


def test_codex_turns_are_the_growth_of_its_cumulative_totals_and_a_repeated_count_adds_nothing(tmp_path):
    path = tmp_path / "rollout-2026-12-02T10-00-00-019a.jsonl"
    context = {"type": "turn_context", "payload": {"model": "gpt-5-codex", "cwd": "/work/proj"}}
    no_info = {"type": "event_msg", "payload": {"type": "token_count", "info": None, "rate_limits": {}}}
    path.write_bytes(rollout(context, no_info, token_count(1000, 200, 50), token_count(1000, 200, 50)))
    first = read_new(CODEX, Cursor(str(path)))
    assert first.turns == [Turn("gpt-5-codex", input=800, output=50, cache_read=200)]
    with open(path, "ab") as file:
        file.write(lines(token_count(2500, 1200, 80, reasoning=10)))
    second = read_new(CODEX, first.cursor)
    assert second.turns == [Turn("gpt-5-codex", input=500, output=30, cache_read=1000)]


def test_the_codex_reader_finds_rollouts_written_in_the_sessions_directory_since_it_started(tmp_path):
    today = datetime.datetime.now(tz=datetime.UTC).date()
    day = tmp_path / "sessions" / f"{today.year:04d}" / f"{today.month:02d}" / f"{today.day:02d}"
    day.mkdir(parents=True)
    (day / "rollout-a.jsonl").write_bytes(rollout())
    (day / "rollout-b.jsonl").write_bytes(rollout().replace(b"/work/proj", b"/elsewhere"))
    (day / "rollout-old.jsonl").write_bytes(rollout())
    an_hour_ago = time.time() - 3600
    os.utime(day / "rollout-old.jsonl", (an_hour_ago - 60, an_hour_ago - 60))  # written before the session began
    ref = SessionRef("c", "/work/proj", "%1", None, an_hour_ago)
    assert CODEX.files(ref, {"CODEX_HOME": str(tmp_path)}) == [day / "rollout-a.jsonl"]


def test_profiles_declare_their_usage_reader():
    assert set(USAGE_READERS) == {"claude_transcript", "codex_rollout", "gemini_chat_recording"}
    assert claude.PROFILE.usage_reader is CLAUDE
    assert codex.PROFILE.usage_reader is CODEX
    assert gemini.PROFILE.usage_reader is gemini.CHAT_RECORDING


# --- prices -----------------------------------------------------------------------------------------------------


def test_the_shipped_prices_price_the_pinned_models_by_their_family():
    prices = parse(SHIPPED)
    sonnet = Turn("claude-sonnet-4-5-20250929", input=1_000_000, output=1_000_000, cache_read=1_000_000, cache_write=0)
    assert prices.cost_micros(sonnet) == 18_300_000
    assert prices.cost_micros(Turn("gpt-5-codex", input=1_000_000)) == 1_250_000
    assert prices.cost_micros(Turn("gpt-5-mini", output=1_000_000)) == 2_000_000
    assert prices.cost_micros(Turn("some-local-model", input=5)) is None


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("date = 2026-11-30\n[models.x]\ninput = 1.0\n", "models.x.output: Field required"),
        ("date = 2026-11-30\n[models.x]\ninput = 1.0\noutput = 2.0\nspeed = 3\n", "models.x.speed: Extra inputs"),
        ("date = 2026-11-30\n[models.x]\ninput = -1.0\noutput = 2.0\n", "models.x.input: Input should be greater"),
        ("date = 2026-11-30\nmodels = {}\n", "models: Dictionary should have at least 1 item"),
        ("[models.x]\ninput = 1.0\noutput = 2.0\n", "date: Field required"),
        ("date = \n", "not TOML"),
        ('date = 2026-11-30\ncurrency = "EUR"\n[models.x]\ninput = 1.0\noutput = 2.0\n', "only USD"),
    ],
)
def test_a_bad_prices_file_is_one_line_naming_the_file_and_the_problem(tmp_path, text, problem):
    path = tmp_path / "prices.toml"
    path.write_text(text)
    with pytest.raises(PricesError) as raised:
        parse(path)
    message = str(raised.value)
    assert message.startswith(f"{path}: ") and problem in message and "\n" not in message


def test_a_bad_prices_file_leaves_the_previous_prices_in_force(tmp_path):
    path = tmp_path / "prices.toml"
    path.write_text("date = 2026-12-01\n[models.mine]\ninput = 2.0\noutput = 4.0\n")
    book = PriceBook(path)
    assert book.current().date.isoformat() == "2026-12-01"
    path.write_text("date = 2026-12-02\n[models.mine]\ninput = 'two'\noutput = 4.0\n")
    assert book.current().price("mine").input == 2.0
    assert book.problem.startswith(f"{path}: models.mine.input") and "2026-12-01" in book.problem


def test_reading_leaves_the_cursor_read_from_as_it_was(tmp_path):
    path = tmp_path / "t.jsonl"
    path.write_bytes(lines(assistant("m1", "r1")))
    cursor = read_new(CLAUDE, Cursor(str(path))).cursor
    with open(path, "ab") as file:
        file.write(lines(assistant("m2", "r2")))
    assert len(read_new(CLAUDE, cursor).turns) == 1
    assert len(read_new(CLAUDE, cursor).turns) == 1


def test_the_longest_family_name_decides_a_models_price():
    prices = parse(SHIPPED)
    assert prices.price("claude-opus-4-5-20251101").input == 5.0
    assert prices.price("claude-opus-4-20250514").input == 15.0
    assert prices.price("gpt-5-mini-2025-08-07").input == 0.25


# --- Gemini CLI's chat recording: JSON lines appended as the conversation goes, as 0.61.0 wrote them in the
# conformance kit (a trimmed copy): the conversation's record, then a line per message, `$set` lines updating the
# record; a gemini message written again, same id and tokens, when its tool calls are added.

GEMINI = gemini.CHAT_RECORDING
RECORD = {
    "sessionId": "38b91346-ffdb-4b6c-bbc9-66cb48b938cc",
    "projectHash": "e56951fcd847286104b92f8f79a9f258e0c1f87232c566cb60cbb044f5f7018d",
    "startTime": "2026-12-02T18:36:18.286Z",
    "lastUpdated": "2026-12-02T18:36:18.286Z",
    "kind": "main",
}


def said(message_id, tokens=None, **more):
    message = {"id": message_id, "timestamp": "2026-12-02T18:36:23.843Z", "type": "gemini", "content": "ok"}
    return message | ({"tokens": tokens, "model": "gemini-3.1-pro-preview"} if tokens else {}) | more


def asked(message_id):
    return {"id": message_id, "timestamp": "2026-12-02T18:36:22.757Z", "type": "user", "content": [{"text": "go"}]}


def updated():
    return {"$set": {"lastUpdated": "2026-12-02T18:36:23.843Z"}}


TOKENS = {"input": 1000, "output": 30, "cached": 400, "thoughts": 20, "tool": 5, "total": 1055}


def test_a_gemini_message_counts_once_though_written_again_with_its_tool_calls(tmp_path):
    path = tmp_path / "session-2026-12-02T18-36-38b91346.jsonl"
    path.write_bytes(lines(RECORD, asked("u1"), updated(), said("g1", TOKENS), updated()))
    first = read_new(GEMINI, Cursor(str(path)))
    assert first.turns == [Turn("gemini-3.1-pro-preview", input=605, output=50, cache_read=400)]
    with path.open("ab") as file:
        file.write(lines(said("g1", TOKENS, toolCalls=[{"name": "run_shell_command"}]), asked("u2"), said("g2")))
    assert read_new(GEMINI, first.cursor).turns == []  # g1 again, and g2 with no tokens: nothing
    assert read_new(GEMINI, Cursor(str(path))).turns == first.turns  # read from the start: g1 once


def test_the_gemini_reader_finds_the_recordings_under_the_projects_short_name(tmp_path):
    gemini_dir = tmp_path / ".gemini"
    chats = gemini_dir / "tmp" / "proj" / "chats"
    chats.mkdir(parents=True)
    (gemini_dir / "projects.json").write_text(json.dumps({"projects": {"/work/proj": "proj"}}))
    (chats / "session-2026-12-02T18-36-38b91346.jsonl").write_text("{}\n")
    (chats / "logs.json").write_text("{}")
    older = gemini_dir / "tmp" / hashlib.sha256(b"/work/proj").hexdigest() / "chats"
    older.mkdir(parents=True)
    (older / "session-a.jsonl").write_text("{}\n")
    ref = SessionRef("g", "/work/proj", "%1", None, 0.0)
    assert GEMINI.files(ref, {"HOME": str(tmp_path)}) == sorted(
        [chats / "session-2026-12-02T18-36-38b91346.jsonl", older / "session-a.jsonl"]
    )
