"""A stand-in of Anthropic's Messages API for Claude Code: `POST /v1/messages` streamed as server-sent events
(message_start, content_block_start/delta/stop, message_delta, message_stop), plus token counts and the model list.

Tools: a Bash command that writes a file brings up Claude Code's permission dialog; AskUserQuestion its question
dialog; `mcp__chorus__whoami` calls Chorus's own MCP server; Write changes a file in the project (its PreToolUse hook
asks Chorus first).
"""

from __future__ import annotations

import itertools
import json
import os
import re
import time
from pathlib import Path
from typing import Any

from sessions_app.conformance.standin import (
    CLAIMED_FILE,
    PERMISSION_FILE,
    Handler,
    ModelRequest,
    Turn,
    Vendor,
    play_text,
)

MODEL = "claude-sonnet-4-5"
_ids = itertools.count(1)


def tool_call(tool: str) -> tuple[str, dict]:
    if tool == "permission":
        return "Bash", {"command": f"echo kit > {PERMISSION_FILE}", "description": "Write a file for the kit"}
    if tool == "question":
        question = {
            "question": "Which colour should the kit use?",
            "header": "Colour",
            "options": [
                {"label": "Red", "description": "the first option"},
                {"label": "Blue", "description": "the second option"},
            ],
            "multiSelect": False,
        }
        return "AskUserQuestion", {"questions": [question]}
    if tool == "edit":
        return "Write", {"file_path": str(Path(os.environ["PROJECT_ROOT"]) / CLAIMED_FILE), "content": "kit\n"}
    return "mcp__chorus__whoami", {}


def _text_of(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "\n".join(
            part.get("text", "") for part in content if isinstance(part, dict) and part.get("type") == "text"
        )
    return ""


class Anthropic(Vendor):
    name = "anthropic"
    usage = (10, 12)

    def is_model_request(self, method: str, path: str) -> bool:
        return method == "POST" and path.split("?")[0] == "/v1/messages"

    def prompt(self, body: dict) -> tuple[str, bool]:
        """The last user message (a system-like entry may follow it); a turn continues when it holds a tool result."""
        for message in reversed(body.get("messages") or []):
            if message.get("role") != "user":
                continue
            content = message.get("content")
            results = isinstance(content, list) and any(
                isinstance(p, dict) and p.get("type") == "tool_result" for p in content
            )
            text = _text_of(content)
            if results:
                return self._previous_prompt(body), False
            # Claude Code adds <system-reminder> blocks to the user's turn; the prompt is the text outside them.
            return _without_reminders(text), True
        return "", True

    def tool_result(self, body: dict) -> str:
        for message in reversed(body.get("messages") or []):
            content = message.get("content")
            if message.get("role") == "user" and isinstance(content, list):
                results = [p for p in content if isinstance(p, dict) and p.get("type") == "tool_result"]
                if results:
                    return "\n".join(_text_of(result.get("content")) for result in results)
        return ""

    def _previous_prompt(self, body: dict) -> str:
        for message in reversed(body.get("messages") or []):
            content = message.get("content")
            if message.get("role") == "user" and not (
                isinstance(content, list)
                and any(isinstance(p, dict) and p.get("type") == "tool_result" for p in content)
            ):
                return _without_reminders(_text_of(content))
        return ""

    def other(self, method: str, path: str, body: dict) -> tuple[int, Any]:
        bare = path.split("?")[0]
        if bare.startswith("/v1/messages/count_tokens"):
            return 200, {"input_tokens": 100}
        if bare.startswith("/v1/models"):
            model = {"type": "model", "id": MODEL, "display_name": "Stand-in", "created_at": "2025-01-01T00:00:00Z"}
            return 200, {"data": [model], "has_more": False, "first_id": MODEL, "last_id": MODEL}
        return super().other(method, path, body)

    def error_body(self, turn: Turn) -> Any:
        """A plan's limit as the API answers a subscription: a rate_limit_error whose message ends with the reset
        as a Unix time (the "Claude AI usage limit reached|<epoch>" form Claude Code reads)."""
        return {
            "type": "error",
            "error": {"type": "rate_limit_error", "message": f"Claude AI usage limit reached|{turn.resets_at}"},
        }

    def error_headers(self, turn: Turn) -> dict[str, str]:
        """The unified limiter's headers on the refusal: rejected, its window, its reset; and that asking again
        within the turn won't help (the SDK honours x-should-retry)."""
        return {
            "anthropic-ratelimit-unified-status": "rejected",
            "anthropic-ratelimit-unified-reset": str(turn.resets_at),
            "anthropic-ratelimit-unified-representative-claim": "five_hour",
            "anthropic-ratelimit-unified-5h-status": "rejected",
            "anthropic-ratelimit-unified-5h-reset": str(turn.resets_at),
            "anthropic-ratelimit-unified-5h-utilization": "1.0",
            "x-should-retry": "false",
            "retry-after": str(max(1, turn.resets_at - int(time.time()))),
        }

    def stream(self, handler: Handler, body: dict, turn: Turn, request: ModelRequest) -> None:
        number = next(_ids)
        handler.start_events()
        message = {
            "id": f"msg_kit{number}",
            "type": "message",
            "role": "assistant",
            "model": body.get("model") or MODEL,
            "content": [],
            "stop_reason": None,
            "stop_sequence": None,
            "usage": {"input_tokens": self.usage[0], "output_tokens": 1},
        }
        handler.event({"type": "message_start", "message": message}, "message_start")
        block = {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}}
        handler.event(block, "content_block_start")

        def send(chunk: str) -> None:
            delta = {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": chunk}}
            handler.event(delta, "content_block_delta")

        play_text(handler, turn, request, send)
        handler.event({"type": "content_block_stop", "index": 0}, "content_block_stop")
        stop = "end_turn"
        if turn.tool:
            name, arguments = tool_call(turn.tool)
            tool = {"type": "tool_use", "id": f"toolu_kit{number}", "name": name, "input": {}}
            handler.event({"type": "content_block_start", "index": 1, "content_block": tool}, "content_block_start")
            delta = {"type": "input_json_delta", "partial_json": json.dumps(arguments)}
            handler.event({"type": "content_block_delta", "index": 1, "delta": delta}, "content_block_delta")
            handler.event({"type": "content_block_stop", "index": 1}, "content_block_stop")
            stop = "tool_use"
            request.tool_at = time.time()
        usage = {"output_tokens": self.usage[1]}
        handler.event(
            {"type": "message_delta", "delta": {"stop_reason": stop, "stop_sequence": None}, "usage": usage},
            "message_delta",
        )
        handler.event({"type": "message_stop"}, "message_stop")


def _without_reminders(text: str) -> str:
    return re.sub(r"<system-reminder>.*?</system-reminder>", "", text, flags=re.DOTALL).strip()
