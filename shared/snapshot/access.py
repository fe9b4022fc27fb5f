"""The access section of a snapshot: grants, users, teams and authorization webhooks.

These frozen models are what the control plane compiles and what both planes evaluate with
``shared.access.decide`` (the data plane on every request, the control plane for its decision
preview), so the two can never disagree about what a rule means.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from shared.snapshot.credentials import Sealed


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


Effect = Literal["allow", "deny"]
SubjectKind = Literal["agent", "user", "team", "workspace", "provider"]

ANNOTATION_HINTS = ("readOnlyHint", "destructiveHint", "idempotentHint", "openWorldHint")
"""The MCP tool annotations a grant may constrain."""


class Selection(_Frozen):
    """Which names (tools, prompts) or URIs (resources) a grant covers.

    ``include`` ``None`` means every one; names may use shell-style wildcards (``read_*``,
    ``file:///docs/*``). ``exclude`` is subtracted from what ``include`` covers.
    """

    include: list[str] | None = None
    exclude: list[str] = Field(default_factory=list)


class Condition(_Frozen):
    """A claim condition: the grant applies only to callers whose claims satisfy it.

    ``claim`` is a claim name or a dotted path into nested claims (``realm_access.roles``).
    ``equals``: the claim is this string; ``contains``: the claim is a list holding ``value``;
    ``in``: the claim is one of the strings in ``value``; ``present``: the claim exists.
    """

    claim: str = Field(min_length=1, max_length=200)
    op: Literal["equals", "contains", "in", "present"] = "equals"
    value: str | list[str] = ""


class Grant(_Frozen):
    """One access rule: a subject may (or may not) use a server, or some of its tools,
    prompts and resources, optionally only when claim conditions hold.

    A grant that narrows nothing (no selection, no annotations) covers the whole server. A grant
    that narrows some kinds covers only those: ``tools: {include: [get_*]}`` covers those tools
    and no prompt or resource (``prompts: {include: ["*"]}`` adds every prompt).
    """

    id: str
    name: str = ""
    subject: str
    """``{kind}:{id}``: ``agent:<key id>``, ``user:<user id>``, ``team:<team id>``,
    ``workspace:<slug>`` or ``provider:<identity provider slug>``."""
    server: str
    """Slug of the server the grant is about."""
    effect: Effect = "allow"
    tools: Selection = Field(default_factory=Selection)
    annotations: dict[str, bool] = Field(default_factory=dict)
    """Tool annotations a covered tool must have (``readOnlyHint: true``: read-only tools only).
    A tool without an annotation has the MCP default (read-only false, destructive true,
    idempotent false, open-world true)."""
    prompts: Selection = Field(default_factory=Selection)
    resources: Selection = Field(default_factory=Selection)
    conditions: list[Condition] = Field(default_factory=list)
    """All must hold for the grant to apply."""


class UserEntry(_Frozen):
    """A user of the organization: identity, workspaces and explicit team memberships."""

    id: str
    email: str = ""
    workspaces: list[str] = Field(default_factory=list)
    """Slugs of the workspaces the user is a member of."""
    teams: list[str] = Field(default_factory=list)
    """Ids of the teams the user is an explicit member of."""
    disabled: bool = False
    """A disabled user's tokens and keys are refused."""


class TeamEntry(_Frozen):
    """A team of a workspace; IdP principals whose groups or roles hold one of ``claim_values``
    are members without being listed."""

    id: str
    slug: str
    workspace: str
    claim_values: list[str] = Field(default_factory=list)


class AuthzWebhookEntry(_Frozen):
    """An endpoint asked for a decision before each call on the servers of a workspace, after
    the grants allowed it."""

    url: str
    timeout_seconds: float = 2.0
    cache_seconds: float = 30.0
    failure_mode: Literal["deny", "allow"] = "deny"
    """What happens when the webhook cannot answer in time or answers garbage."""
    headers: dict[str, Sealed] = Field(default_factory=dict)


class AccessSection(_Frozen):
    """Everything the access evaluation needs; part of every snapshot."""

    grants: list[Grant] = Field(default_factory=list)
    users: dict[str, UserEntry] = Field(default_factory=dict)
    """User id -> user."""
    user_index: dict[str, str] = Field(default_factory=dict)
    """``sub:{provider slug}:{subject}`` or ``email:{address}`` -> user id (IdP principals)."""
    teams: dict[str, TeamEntry] = Field(default_factory=dict)
    """Team id -> team."""
    webhooks: dict[str, AuthzWebhookEntry] = Field(default_factory=dict)
    """Workspace slug -> its authorization webhook."""
