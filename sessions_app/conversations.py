"""Where an agent keeps the conversation a session works in, for agents that do not report its id while they run:
a profile's finder looks it up in the agent's own files when a restart or a recovery wants to resume it."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime


class ConversationFinder:
    """Finds the id of the conversation an agent started in `cwd` at or after `since` (its incarnation's start)."""

    name = "conversation_finder"

    def find(self, environment: Mapping[str, str], cwd: str, since: datetime) -> str | None:
        raise NotImplementedError
