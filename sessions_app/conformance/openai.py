"""A stand-in of OpenAI's Responses API for Codex CLI: `POST /v1/responses` streamed as server-sent events
(response.created, response.output_item.added/done, response.output_text.delta, response.completed).

Under `approval_policy = "on-request"` a shell call carrying `sandbox_permissions: "require_escalated"` brings up
Codex's approval prompt; the shell tool's name and argument shape are read from the tools the request offers.
"""

from __future__ import annotations

import itertools
import json
import time
from typing import Any

from sessions_app.conformance.standin import PERMISSION_FILE, Handler, ModelRequest, Turn, Vendor, play_text

MODEL = "gpt-5-codex"
_ids = itertools.count(1)
SHELL_TOOLS = ("shell_command", "shell", "exec_command")
QUESTION_TOOLS = ("request_user_input", "ask_user")


def _tool_names(body: dict) -> list[str]:
    return [tool.get("name") or tool.get("type") or "" for tool in body.get("tools") or [] if isinstance(tool, dict)]


def tool_call(tool: str, body: dict) -> tuple[str, dict]:
    """The function call for a script: its tool's name and arguments, shaped after the tools offered."""
    names = _tool_names(body)
    if tool == "question":
        asked = next((name for name in QUESTION_TOOLS if name in names), None)
        if asked is not None:
            question = {"id": "colour", "header": "Colour", "question": "Which colour should the kit use?"}
            options = [{"label": "Red", "description": "the first"}, {"label": "Blue", "description": "the second"}]
            return asked, {"questions": [{**question, "options": options}]}
    if tool == "mcp":
        # Codex offers an MCP server's tools inside a namespace tool named after the server: "namespace/tool".
        spaces = [t for t in body.get("tools") or [] if isinstance(t, dict) and t.get("name") == "mcp__chorus"]
        inner = [t.get("name", "") for space in spaces for t in space.get("tools") or [] if isinstance(t, dict)]
        if "whoami" in inner:
            return "mcp__chorus/whoami", {}
        name = next((name for name in names if "whoami" in name), "mcp__chorus__whoami")
        return name, {}
    command = f"echo kit > {PERMISSION_FILE}"
    shell = next((name for name in SHELL_TOOLS if name in names), "shell")
    escalation = {"sandbox_permissions": "require_escalated", "justification": "The kit needs to write a file"}
    if shell == "shell":
        return shell, {"command": ["bash", "-lc", command], **escalation}
    if shell == "exec_command":
        return shell, {"cmd": command, **escalation}
    return shell, {"command": command, **escalation}


def _text_of(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "\n".join(p.get("text", "") for p in content if isinstance(p, dict) and "text" in p)
    return ""


class OpenAIResponses(Vendor):
    name = "openai"
    usage = (10, 12)

    def tool_names(self, body: dict) -> list[str]:
        return _tool_names(body)

    def is_model_request(self, method: str, path: str) -> bool:
        return method == "POST" and path.split("?")[0].rstrip("/").endswith("/responses")

    def prompt(self, body: dict) -> tuple[str, bool]:
        items = [item for item in body.get("input") or [] if isinstance(item, dict)]
        fresh = not items or items[-1].get("type") not in ("function_call_output", "custom_tool_call_output")
        for item in reversed(items):
            if item.get("role") == "user":
                text = _text_of(item.get("content"))
                # Codex sends its environment and the project's instructions as user messages too.
                if not text.lstrip().startswith(("<environment_context>", "<user_instructions>", "# AGENTS.md")):
                    return text.strip(), fresh
        return "", fresh

    def other(self, method: str, path: str, body: dict) -> tuple[int, Any]:
        if path.split("?")[0].rstrip("/").endswith("/models"):
            return 200, {"object": "list", "data": [{"id": MODEL, "object": "model", "owned_by": "stand-in"}]}
        return super().other(method, path, body)

    def error_body(self, turn: Turn) -> Any:
        """ChatGPT's usage-limit refusal as codex-rs reads it (codex-rs/core/src/api_bridge.rs: an error of type
        usage_limit_reached, its plan_type and resets_at, a Unix time; older servers sent resets_in_seconds)."""
        return {
            "error": {
                "type": "usage_limit_reached",
                "message": "The usage limit has been reached",
                "plan_type": "plus",
                "resets_at": turn.resets_at,
                "resets_in_seconds": max(0, turn.resets_at - int(time.time())),
            }
        }

    def error_headers(self, turn: Turn) -> dict[str, str]:
        """The rate-limit snapshot headers Codex reads on every answer: the primary (5-hour) window used up."""
        return {
            "x-codex-primary-used-percent": "100.0",
            "x-codex-primary-window-minutes": "300",
            "x-codex-primary-reset-at": str(turn.resets_at),
            "x-codex-primary-reset-after-seconds": str(max(0, turn.resets_at - int(time.time()))),
            "x-codex-secondary-used-percent": "40.0",
            "x-codex-secondary-window-minutes": "10080",
        }

    def stream(self, handler: Handler, body: dict, turn: Turn, request: ModelRequest) -> None:
        number = next(_ids)
        response_id = f"resp_kit{number}"
        handler.start_events()
        handler.event({"type": "response.created", "response": {"id": response_id}}, "response.created")
        message_id = f"msg_kit{number}"
        added = {"type": "message", "role": "assistant", "id": message_id, "content": [], "status": "in_progress"}
        handler.event(
            {"type": "response.output_item.added", "output_index": 0, "item": added}, "response.output_item.added"
        )

        def send(chunk: str) -> None:
            delta = {
                "type": "response.output_text.delta",
                "item_id": message_id,
                "output_index": 0,
                "content_index": 0,
                "delta": chunk,
            }
            handler.event(delta, "response.output_text.delta")

        text = play_text(handler, turn, request, send)
        done = {**added, "content": [{"type": "output_text", "text": text, "annotations": []}], "status": "completed"}
        handler.event(
            {"type": "response.output_item.done", "output_index": 0, "item": done}, "response.output_item.done"
        )
        if turn.tool:
            name, arguments = tool_call(turn.tool, body)
            call = {
                "type": "function_call",
                "id": f"fc_kit{number}",
                "call_id": f"call_kit{number}",
                "name": name,
                "arguments": json.dumps(arguments),
                "status": "completed",
            }
            namespace, _, bare = name.rpartition("/")
            if namespace:
                call.update(name=bare, namespace=namespace)
            handler.event(
                {"type": "response.output_item.added", "output_index": 1, "item": call}, "response.output_item.added"
            )
            handler.event(
                {"type": "response.output_item.done", "output_index": 1, "item": call}, "response.output_item.done"
            )
            request.tool_at = time.time()
        usage = {
            "input_tokens": self.usage[0],
            "input_tokens_details": {"cached_tokens": 0},
            "output_tokens": self.usage[1],
            "output_tokens_details": {"reasoning_tokens": 0},
            "total_tokens": sum(self.usage),
        }
        completed = {"type": "response.completed", "response": {"id": response_id, "usage": usage}}
        handler.event(completed, "response.completed")
