"""A stand-in of the Gemini API for Gemini CLI: `POST /v1beta/models/<model>:streamGenerateContent?alt=sse` as
server-sent GenerateContentResponse chunks, plus `:generateContent` (its side requests), `:countTokens` and the
model list.

A `run_shell_command` call brings up Gemini CLI's confirmation; its `ask_user` tool a question dialog.
"""

from __future__ import annotations

import time
from typing import Any

from sessions_app.conformance.standin import PERMISSION_FILE, Handler, ModelRequest, Turn, Vendor, play_text

MODEL = "gemini-2.5-pro"


def _declared(body: dict) -> list[str]:
    names = []
    for tool in body.get("tools") or []:
        for declaration in (tool or {}).get("functionDeclarations") or []:
            names.append(declaration.get("name", ""))
    return names


def tool_call(tool: str, body: dict) -> tuple[str, dict]:
    names = _declared(body)
    if tool == "question" and "ask_user" in names:
        question = {
            "question": "Which colour should the kit use?",
            "header": "Colour",
            "type": "choice",
            "options": [{"label": "Red", "description": "the first"}, {"label": "Blue", "description": "the second"}],
        }
        return "ask_user", {"questions": [question]}
    if tool == "mcp":
        name = next((name for name in names if "whoami" in name), "chorus__whoami")
        return name, {}
    return "run_shell_command", {"command": f"echo kit > {PERMISSION_FILE}", "description": "Write a file for the kit"}


# (prompt, candidates) tokens of every chunk: a response's last chunk gives its usage
USAGE = (10, 5)


def _usage() -> dict:
    return {"promptTokenCount": USAGE[0], "candidatesTokenCount": USAGE[1], "totalTokenCount": sum(USAGE)}


def _chunk(parts: list[dict], finish: str | None = None) -> dict:
    candidate: dict[str, Any] = {"content": {"role": "model", "parts": parts}, "index": 0}
    if finish:
        candidate["finishReason"] = finish
    return {"candidates": [candidate], "usageMetadata": _usage(), "modelVersion": MODEL}


class Gemini(Vendor):
    name = "gemini"
    usage = USAGE

    def tool_names(self, body: dict) -> list[str]:
        return _declared(body)

    def is_model_request(self, method: str, path: str) -> bool:
        return method == "POST" and ":streamGenerateContent" in path

    def prompt(self, body: dict) -> tuple[str, bool]:
        contents = [c for c in body.get("contents") or [] if isinstance(c, dict)]
        last = contents[-1] if contents else {}
        fresh = not any("functionResponse" in part for part in last.get("parts") or [])
        for content in reversed(contents):
            parts = content.get("parts") or []
            if content.get("role") == "user" and not any("functionResponse" in p for p in parts):
                # Gemini CLI puts its <session_context> before the prompt in the first turn.
                texts = [
                    p["text"] for p in parts if "text" in p and not p["text"].lstrip().startswith("<session_context>")
                ]
                return "\n".join(texts).strip(), fresh
        return "", fresh

    def other(self, method: str, path: str, body: dict) -> tuple[int, Any]:
        bare = path.split("?")[0]
        if ":countTokens" in bare:
            return 200, {"totalTokens": 100}
        if ":generateContent" in bare:
            # Side requests (the next-speaker check, summaries) ask for JSON; the user speaks next.
            return 200, _chunk([{"text": '{"reasoning": "stand-in", "next_speaker": "user"}'}], "STOP")
        if bare.rstrip("/").endswith("/models"):
            return 200, {"models": [{"name": f"models/{MODEL}", "displayName": "Stand-in"}]}
        return super().other(method, path, body)

    def error_body(self, turn: Turn) -> Any:
        """A daily quota used up, as the Gemini API answers it: RESOURCE_EXHAUSTED with a QuotaFailure naming a
        per-day quota and a RetryInfo until its reset (Gemini CLI's googleQuotaErrors.ts tells a per-day quota, which
        it does not retry, from a per-minute one)."""
        delay = max(1, turn.resets_at - int(time.time()))
        violation = {
            "quotaMetric": "generativelanguage.googleapis.com/generate_content_requests",
            "quotaId": "GenerateRequestsPerDayPerProjectPerModel",
            "quotaDimensions": {"location": "global", "model": MODEL},
            "quotaValue": "1000",
        }
        return {
            "error": {
                "code": 429,
                "message": f"You exceeded your current quota, please check your plan and billing details. "
                f"Please retry in {delay}s.",
                "status": "RESOURCE_EXHAUSTED",
                "details": [
                    {"@type": "type.googleapis.com/google.rpc.QuotaFailure", "violations": [violation]},
                    {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": f"{delay}s"},
                ],
            }
        }

    def stream(self, handler: Handler, body: dict, turn: Turn, request: ModelRequest) -> None:
        handler.start_events()
        play_text(handler, turn, request, lambda chunk: handler.event(_chunk([{"text": chunk}])))
        if turn.tool:
            name, arguments = tool_call(turn.tool, body)
            handler.event(_chunk([{"functionCall": {"name": name, "args": arguments}}], "STOP"))
            request.tool_at = time.time()
        else:
            handler.event(_chunk([{"text": ""}], "STOP"))
