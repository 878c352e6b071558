"""The stand-in model servers: the script a prompt chooses, each vendor's reading of a request, and each one's
stream as its CLI parses it (served for real, in a thread, over 127.0.0.1)."""

import json
import urllib.request

import pytest

from sessions_app.conformance.anthropic import Anthropic
from sessions_app.conformance.gemini import Gemini
from sessions_app.conformance.openai import OpenAIResponses
from sessions_app.conformance.standin import LIMIT_RESET_AFTER, SHORT_ANSWER, StandIn, limit_reset, script_for, turn_for


@pytest.mark.parametrize(
    ("text", "script"),
    [
        ("hello", "short"),
        ("kit:slow tell a story", "slow"),
        ("please kit:permission", "permission"),
        ("kit:question and kit:slow", "question"),
        ("kit:limit", "limit"),
        ("kit:mcp", "mcp"),
        ("kit:unknown", "short"),
    ],
)
def test_words_in_the_prompt_choose_the_script(text, script):
    assert script_for(text) == script


def test_a_tool_result_ends_the_turn_with_text():
    assert turn_for("permission", fresh=True).tool == "permission"
    after = turn_for("permission", fresh=False)
    assert after.tool is None and after.chunks
    # the limit script's turn once its limit has reset (the stand-in refuses it until then)
    assert turn_for("limit", fresh=True).status == 200


def test_anthropic_reads_the_last_user_text_without_reminders_and_knows_a_tool_result():
    vendor = Anthropic()
    prompt = {"role": "user", "content": [{"type": "text", "text": "<system-reminder>x</system-reminder>kit:slow"}]}
    result = {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "t", "content": "ok"}]}
    body = {"messages": [prompt, {"role": "assistant", "content": "..."}, result]}
    assert vendor.prompt({"messages": [prompt]}) == ("kit:slow", True)
    assert vendor.prompt(body) == ("kit:slow", False)


def test_openai_skips_codex_context_messages_and_knows_a_function_output():
    vendor = OpenAIResponses()
    context = {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "<environment_context>"}]}
    prompt = {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "hello"}]}
    output = {"type": "function_call_output", "call_id": "c", "output": "done"}
    assert vendor.prompt({"input": [context, prompt]}) == ("hello", True)
    assert vendor.prompt({"input": [context, prompt, output]}) == ("hello", False)


def test_gemini_drops_its_session_context_and_knows_a_function_response():
    vendor = Gemini()
    first = {"role": "user", "parts": [{"text": "<session_context>\nlinux\n</session_context>"}, {"text": "hi there"}]}
    answer = {"role": "user", "parts": [{"functionResponse": {"name": "run_shell_command", "response": {}}}]}
    assert vendor.prompt({"contents": [first]}) == ("hi there", True)
    assert vendor.prompt({"contents": [first, {"role": "model", "parts": []}, answer]}) == ("hi there", False)


def _post(url: str, body: dict) -> tuple[int, str]:
    request = urllib.request.Request(url, json.dumps(body).encode(), {"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:
            return answer.status, answer.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def _events(text: str) -> list[dict]:
    return [json.loads(line[6:]) for line in text.splitlines() if line.startswith("data: ")]


def test_anthropic_streams_a_short_answer_and_a_tool_call_and_logs_each_request():
    user = {"role": "user", "content": "kit:permission"}
    with StandIn(Anthropic()) as standin:
        status, text = _post(f"{standin.url}/v1/messages?beta=true", {"messages": [user], "tools": [{"name": "Bash"}]})
        tokens, _ = _post(f"{standin.url}/v1/messages/count_tokens", {})
    events = _events(text)
    assert status == 200 and tokens == 200
    assert [e["type"] for e in events][:2] == ["message_start", "content_block_start"]
    tool = next(e for e in events if e.get("content_block", {}).get("type") == "tool_use")
    assert tool["content_block"]["name"] == "Bash"
    assert events[-2]["delta"]["stop_reason"] == "tool_use"
    assert standin.prompts_seen("kit:permission") == 1
    assert standin.model_requests()[0].tool_at is not None


def test_openai_streams_the_responses_events_with_the_shell_tool_offered():
    tools = [{"type": "function", "name": "exec_command"}]
    user = {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "kit:permission"}]}
    with StandIn(OpenAIResponses()) as standin:
        status, text = _post(f"{standin.url}/v1/responses", {"input": [user], "tools": tools})
    events = _events(text)
    call = next(
        e["item"] for e in events if e["type"] == "response.output_item.done" and e["item"]["type"] == "function_call"
    )
    assert status == 200 and events[0]["type"] == "response.created" and events[-1]["type"] == "response.completed"
    assert call["name"] == "exec_command"
    assert json.loads(call["arguments"])["sandbox_permissions"] == "require_escalated"


def test_a_request_without_tools_is_a_side_request_not_a_prompt():
    user = {
        "type": "message",
        "role": "user",
        "content": [{"type": "input_text", "text": "Generate a title: kit:slow"}],
    }
    with StandIn(OpenAIResponses()) as standin:
        _post(f"{standin.url}/v1/responses", {"input": [user]})
    assert [r.script for r in standin.model_requests()] == ["side"]
    assert standin.prompts_seen("Generate a title: kit:slow") == 0


def test_gemini_streams_chunks_and_answers_a_usage_limit_with_429():
    user = {"role": "user", "parts": [{"text": "kit:permission"}]}
    tools = [{"functionDeclarations": [{"name": "run_shell_command"}]}]
    limit = {"role": "user", "parts": [{"text": "kit:limit"}]}
    with StandIn(Gemini()) as standin:
        path = "/v1beta/models/gemini-2.5-pro:streamGenerateContent?alt=sse"
        status, text = _post(f"{standin.url}{path}", {"contents": [user], "tools": tools})
        limited, error = _post(f"{standin.url}{path}", {"contents": [limit], "tools": tools})
    chunks = _events(text)
    assert status == 200 and chunks[0]["candidates"][0]["content"]["parts"][0]["text"] == "Let me do that. "
    call = chunks[-1]["candidates"][0]
    assert call["content"]["parts"][0]["functionCall"]["name"] == "run_shell_command"
    assert call["finishReason"] == "STOP"
    assert limited == 429 and json.loads(error)["error"]["status"] == "RESOURCE_EXHAUSTED"
    assert len(standin.model_requests()) == 2


def test_a_short_answer_lasts_long_enough_to_be_seen_busy():
    turn = turn_for("short", fresh=True)
    assert "".join(turn.chunks) == SHORT_ANSWER
    assert turn.pause * (len(turn.chunks) - 1) >= 0.5


def test_codex_calls_an_mcp_tool_inside_its_servers_namespace():
    namespace = {"type": "namespace", "name": "mcp__chorus", "tools": [{"type": "function", "name": "whoami"}]}
    user = {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "kit:mcp"}]}
    with StandIn(OpenAIResponses()) as standin:
        _status, text = _post(f"{standin.url}/v1/responses", {"input": [user], "tools": [namespace]})
    done = [e["item"] for e in _events(text) if e["type"] == "response.output_item.done"]
    call = next(item for item in done if item["type"] == "function_call")
    assert (call["name"], call["namespace"]) == ("whoami", "mcp__chorus")
    assert standin.model_requests()[0].tools == ["mcp__chorus"]


def test_a_usage_limit_resets_at_a_whole_minute_at_least_the_interval_ahead():
    assert limit_reset(1000) == 1080 and limit_reset(1000) - 1000 >= LIMIT_RESET_AFTER
    assert limit_reset(1020) % 60 == 0 and limit_reset(1020) - 1020 >= LIMIT_RESET_AFTER


@pytest.mark.parametrize(
    ("vendor", "path", "body", "check"),
    [
        (
            Anthropic(),
            "/v1/messages",
            {"messages": [{"role": "user", "content": "kit:limit"}], "tools": [{"name": "Bash"}]},
            lambda error, headers, reset: (
                error["error"] == {"type": "rate_limit_error", "message": f"Claude AI usage limit reached|{reset}"}
                and headers["anthropic-ratelimit-unified-status"] == "rejected"
                and headers["anthropic-ratelimit-unified-reset"] == str(reset)
                and headers["x-should-retry"] == "false"
            ),
        ),
        (
            OpenAIResponses(),
            "/v1/responses",
            {"input": [{"type": "message", "role": "user", "content": "kit:limit"}], "tools": [{"name": "shell"}]},
            lambda error, headers, reset: (
                error["error"]["type"] == "usage_limit_reached"
                and error["error"]["resets_at"] == reset
                and error["error"]["plan_type"] == "plus"
                and headers["x-codex-primary-used-percent"] == "100.0"
            ),
        ),
        (
            Gemini(),
            "/v1beta/models/gemini-2.5-pro:streamGenerateContent?alt=sse",
            {"contents": [{"role": "user", "parts": [{"text": "kit:limit"}]}], "tools": [{"functionDeclarations": []}]},
            lambda error, headers, reset: (
                error["error"]["status"] == "RESOURCE_EXHAUSTED"
                and "PerDay" in error["error"]["details"][0]["violations"][0]["quotaId"]
                and error["error"]["details"][1]["@type"].endswith("RetryInfo")
            ),
        ),
    ],
)
def test_each_vendor_refuses_the_conversation_with_its_usage_limit_answer_until_the_reset(vendor, path, body, check):
    with StandIn(vendor) as standin:
        request = urllib.request.Request(f"{standin.url}{path}", json.dumps(body).encode())
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(request, timeout=10)
        reset = standin.limit_resets_at
        # any request of the conversation until the reset is refused alike; after it the limit is over
        again, _ = _post(f"{standin.url}{path}", body)
        standin.limit_resets_at = 1
        after, _ = _post(f"{standin.url}{path}", body)
    assert refused.value.code == 429 and again == 429 and after == 200
    assert check(json.loads(refused.value.read()), refused.value.headers, reset)
