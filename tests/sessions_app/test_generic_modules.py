"""Generic code names no agent: everything agent-specific lives in sessions_app/agents/ and reaches the rest through
profiles."""

from __future__ import annotations

import re
from pathlib import Path

import sessions_app

PACKAGE = Path(sessions_app.__file__).resolve().parent
AGENTS = PACKAGE / "agents"
# The conformance kit plays each vendor's API and installs each agent's CLI: agent-specific by its job.
KIT = PACKAGE / "conformance"


def generic_modules() -> list[Path]:
    return sorted(path for path in PACKAGE.rglob("*.py") if AGENTS not in path.parents and KIT not in path.parents)


def test_the_agents_package_is_the_only_place_that_names_one():
    assert len(generic_modules()) > 20
    named = [path.relative_to(PACKAGE) for path in generic_modules() if re.search("claude", path.read_text(), re.I)]
    assert named == []
