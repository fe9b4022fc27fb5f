"""Access decisions: the one evaluation both planes run.

Precedence, for a caller using a server (and a tool, prompt or resource of it):

1. **Key scope ceiling**: a key with a scope may use nothing outside it.
2. **Explicit deny**: an applicable deny grant covering the item refuses it, whatever allows it.
3. **Allow**: the key's own scope (workspace-owned keys), then grants to the agent, the user,
   each team, each workspace and the identity provider of the caller; the first covering allow
   grant decides and names the rule.
4. **Default deny**.

A grant *applies* to a caller when its subject is one of the caller's subjects and all its
claim conditions hold. Lookups per request are bounded: one dict probe per subject of the
caller (agent, user, teams, workspaces, provider), never a scan over all grants.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from shared.access.matchers import NOTHING, ConditionMatcher, SelectionMatcher, is_narrowed
from shared.snapshot.access import ANNOTATION_HINTS, Grant, Selection

ItemKind = Literal["tool", "prompt", "resource"]

ANNOTATION_DEFAULTS: Mapping[str, bool] = {
    "readOnlyHint": False,
    "destructiveHint": True,
    "idempotentHint": False,
    "openWorldHint": True,
}
"""What the MCP specification says a tool without the annotation is assumed to be."""

KEY_SCOPE = "key-scope"
DEFAULT_DENY = "default-deny"
DISABLED_USER = "user-disabled"

Annotations = Mapping[str, Any]
Catalog = Mapping[str, Mapping[str, Annotations]]
"""Server slug -> tool name -> the tool's annotations as discovered by the control plane."""


@dataclass(frozen=True, slots=True)
class Caller:
    """Who is calling, as the access evaluation sees it."""

    label: str
    """How reasons name the caller (``key 'ci-bot'``, ``user alice@example.com``)."""
    subjects: tuple[str, ...]
    """``kind:id`` subjects in probe order; build with :func:`caller`."""
    claims: Mapping[str, Any] = field(default_factory=dict)
    scope: Mapping[str, frozenset[str] | None] | None = None
    """A key's scope: server slug -> tools (``None``: all of them). The key may use nothing else."""
    scope_grants: bool = False
    """The scope also grants what it names (keys owned by a workspace rather than a user)."""
    disabled: bool = False

    @property
    def user_id(self) -> str:
        """The gateway user this caller is ("" for a workspace key or an unknown IdP subject)."""
        for subject in self.subjects:
            if subject.startswith("user:"):
                return subject[5:]
        return ""


def caller(
    label: str,
    *,
    agent: str = "",
    user: str = "",
    teams: Iterable[str] = (),
    workspaces: Iterable[str] = (),
    provider: str = "",
    claims: Mapping[str, Any] | None = None,
    scope: Mapping[str, frozenset[str] | None] | None = None,
    scope_grants: bool = False,
    disabled: bool = False,
) -> Caller:
    """A :class:`Caller` with its subjects in probe order (agent, user, teams, workspaces, provider)."""
    subjects: list[str] = []
    if agent:
        subjects.append(f"agent:{agent}")
    if user:
        subjects.append(f"user:{user}")
    subjects.extend(f"team:{t}" for t in sorted(set(teams)))
    subjects.extend(f"workspace:{w}" for w in sorted(set(workspaces)))
    if provider:
        subjects.append(f"provider:{provider}")
    return Caller(
        label=label,
        subjects=tuple(subjects),
        claims=claims or {},
        scope=scope,
        scope_grants=scope_grants,
        disabled=disabled,
    )


@dataclass(frozen=True, slots=True)
class Decision:
    """An access decision and the rule that made it."""

    allowed: bool
    rule: str
    reason: str = ""


@dataclass(frozen=True, slots=True)
class CompiledGrant:
    """A grant with its selections and conditions precompiled."""

    rule: str
    allow: bool
    tools: SelectionMatcher
    annotations: tuple[tuple[str, bool], ...]
    prompts: SelectionMatcher
    resources: SelectionMatcher
    conditions: tuple[ConditionMatcher, ...]
    whole_server: bool
    """Covers everything on the server (no selection narrows it)."""

    @classmethod
    def of(cls, grant: Grant) -> CompiledGrant:
        """Compile a grant. A grant that narrows nothing covers the whole server; one that
        narrows some kinds (tools, prompts, resources) covers none of the kinds it leaves out."""
        annotations = tuple(sorted((k, v) for k, v in grant.annotations.items() if k in ANNOTATION_HINTS))
        narrowed = {
            "tool": is_narrowed(grant.tools) or bool(annotations),
            "prompt": is_narrowed(grant.prompts),
            "resource": is_narrowed(grant.resources),
        }
        allow = grant.effect == "allow"
        whole = not any(narrowed.values())

        def matcher(kind: str, selection: Selection) -> SelectionMatcher:
            return SelectionMatcher.of(selection) if whole or narrowed[kind] else NOTHING

        return cls(
            rule=f"grant:{grant.name or grant.id}",
            allow=allow,
            tools=matcher("tool", grant.tools),
            annotations=annotations,
            prompts=matcher("prompt", grant.prompts),
            resources=matcher("resource", grant.resources),
            conditions=tuple(ConditionMatcher.of(c) for c in grant.conditions),
            whole_server=whole,
        )

    def selection(self, kind: ItemKind) -> SelectionMatcher:
        return self.tools if kind == "tool" else self.prompts if kind == "prompt" else self.resources

    def applies(self, claims: Mapping[str, Any]) -> bool:
        return all(c.holds(claims) for c in self.conditions)

    def covers(self, kind: ItemKind, name: str, annotations: Annotations | None) -> bool:
        if kind == "tool":
            if not self.tools.covers(name):
                return False
            if not self.annotations:
                return True
            for hint, wanted in self.annotations:
                value = annotations.get(hint) if annotations is not None else None
                if not isinstance(value, bool):
                    value = ANNOTATION_DEFAULTS[hint]
                if value is not wanted:
                    return False
            return True
        if kind == "prompt":
            return self.prompts.covers(name)
        return self.resources.covers(name)


@dataclass(frozen=True, slots=True)
class ServerView:
    """The grants that apply to one caller on one server, gathered once per request."""

    caller: Caller
    server: str
    allows: tuple[CompiledGrant, ...]
    denies: tuple[CompiledGrant, ...]
    scoped_tools: frozenset[str] | None
    """The key scope's tools on this server (``None``: all, or no scope)."""
    scope_grant: bool
    """The key's own scope grants this server."""
    tools: Mapping[str, Annotations]
    refusal: Decision | None
    """Set when the caller may not use the server at all."""

    def server_decision(self) -> Decision:
        """May the caller use this server at all (initialize, ping, lists, ...)?"""
        if self.refusal is not None:
            return self.refusal
        if self.scope_grant:
            return Decision(True, KEY_SCOPE)
        return Decision(True, self.allows[0].rule)

    def decide(self, kind: ItemKind, name: str) -> Decision:
        """May the caller use tool / prompt / resource ``name`` of this server?"""
        if self.refusal is not None:
            return self.refusal
        what = f"{kind} '{name}'"
        if kind == "tool" and self.scoped_tools is not None and name not in self.scoped_tools:
            return Decision(
                False,
                KEY_SCOPE,
                f"{what} is outside the scope of {self.caller.label} on server '{self.server}'",
            )
        annotations = self.tools.get(name) if kind == "tool" else None
        for grant in self.denies:
            if grant.covers(kind, name, annotations):
                return Decision(
                    False, grant.rule, f"{what} on server '{self.server}' is denied by {grant.rule}"
                )
        if self.scope_grant:
            return Decision(True, KEY_SCOPE)
        for grant in self.allows:
            if grant.covers(kind, name, annotations):
                return Decision(True, grant.rule)
        granted = ", ".join(g.rule for g in self.allows) or KEY_SCOPE
        return Decision(
            False,
            DEFAULT_DENY,
            f"no grant lets {self.caller.label} use {what} on server '{self.server}' (applicable: {granted})",
        )

    def visible(self, kind: ItemKind, name: str) -> bool:
        """Whether a list result shows ``name`` to this caller."""
        return self.decide(kind, name).allowed

    def unrestricted(self, kind: ItemKind) -> bool:
        """Whether every item of ``kind`` is allowed, so a list needs no filtering."""
        if self.refusal is not None:
            return False
        if kind == "tool" and self.scoped_tools is not None:
            return False
        if any(not grant.selection(kind).nothing for grant in self.denies):
            return False
        if self.scope_grant:
            return True
        return any(
            grant.selection(kind).everything and (kind != "tool" or not grant.annotations)
            for grant in self.allows
        )
