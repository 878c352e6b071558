"""The shape of `[approvals]` in chorus.toml, validated with pydantic. Imported only when a policy file is read
(tasks_app.approvals.parse): pydantic costs every command a few hundred milliseconds."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from sessions_app.profile_tables import checked_regex
from tasks_app import claims


def _globs(value: list[str]) -> list[str]:
    try:
        return [claims.normalise(pattern) for pattern in value]
    except claims.BadClaim as exc:
        raise ValueError(str(exc)) from None


class ApprovalRule(BaseModel):
    """One rule: every condition given must hold for it to decide. `session`, `profile` and `tool` are shell-style
    globs, `|` between alternatives (`Bash`, `Edit|Write`, `mcp__*`); `command` a regular expression searched in
    the command's text; `paths` claim globs inside the project's root, which every path of the request must match;
    `within_claims`: every path lies inside a live claim of the session's task."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field("", max_length=80)
    decision: Literal["allow", "deny", "ask"]
    reason: str = Field("", max_length=300)
    profile: str | None = None
    session: str | None = None
    tool: str | None = None
    command: Annotated[str, AfterValidator(checked_regex)] | None = None
    paths: Annotated[list[str], AfterValidator(_globs)] | None = None
    within_claims: bool = False


class ApprovalsTable(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    rules: list[ApprovalRule] = Field(default_factory=list, max_length=200)
