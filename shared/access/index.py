"""The access index: a snapshot's grants, users and teams compiled for lookups.

Per-server rules (grants and tool annotations) come from a :class:`ServerRules` source and are
compiled the first time a server is asked about: all in memory (:class:`InMemoryRules`, what the
control plane's preview and small snapshots use), or read from a store on disk by the data plane
for snapshots too big to hold in memory. The compiled form of a server is cached (bounded by
``cache_servers``), so the request path pays one dict probe per subject of the caller.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from functools import lru_cache
from typing import Any, Protocol

from shared.access.evaluate import (
    DEFAULT_DENY,
    DISABLED_USER,
    KEY_SCOPE,
    Annotations,
    Caller,
    Catalog,
    CompiledGrant,
    Decision,
    ServerView,
    caller,
)
from shared.snapshot.access import AccessSection, Grant
from shared.snapshot.schema import IdentityProviderEntry, KeyEntry, Snapshot

_NO_TOOLS: Mapping[str, Annotations] = {}


class ServerRules(Protocol):
    """Where an :class:`AccessIndex` reads one server's grants and tool annotations."""

    def grants(self, server: str) -> Sequence[Grant]:
        """The grants whose ``server`` is ``server``, in snapshot order."""
        ...

    def tools(self, server: str) -> Mapping[str, Annotations]:
        """Tool name -> annotations of ``server`` (empty when unknown)."""
        ...


@dataclass(frozen=True, slots=True)
class InMemoryRules:
    """:class:`ServerRules` over grants and a catalog held in memory."""

    by_server: Mapping[str, Sequence[Grant]]
    catalog: Catalog

    @classmethod
    def of(cls, grants: Iterable[Grant], catalog: Catalog) -> InMemoryRules:
        """Group ``grants`` by server."""
        by_server: dict[str, list[Grant]] = {}
        for grant in grants:
            by_server.setdefault(grant.server, []).append(grant)
        return cls(by_server, catalog)

    def grants(self, server: str) -> Sequence[Grant]:
        return self.by_server.get(server, ())

    def tools(self, server: str) -> Mapping[str, Annotations]:
        return self.catalog.get(server, _NO_TOOLS)


def catalog_of(snapshot: Snapshot) -> Catalog:
    """The tool annotations of a snapshot's servers, as :class:`InMemoryRules` reads them."""
    return {
        slug: {name: tool.annotations for name, tool in entry.tools.items()}
        for slug, entry in snapshot.servers.items()
    }


def implied_grants(providers: Iterable[IdentityProviderEntry]) -> dict[str, list[Grant]]:
    """Server -> the whole-server grants an identity provider's ``servers`` list implies
    (subject ``provider:<slug>``, rule ``grant:identity-provider:<slug>``)."""
    implied: dict[str, list[Grant]] = {}
    for provider in providers:
        for slug in provider.servers:
            implied.setdefault(slug, []).append(
                Grant(
                    id=f"idp-{provider.id}-{slug}",
                    name=f"identity-provider:{provider.slug}",
                    subject=f"provider:{provider.slug}",
                    server=slug,
                )
            )
    return implied


@dataclass(frozen=True, slots=True)
class _CompiledServer:
    by_subject: Mapping[str, tuple[CompiledGrant, ...]]
    tools: Mapping[str, Annotations]


class AccessIndex:
    """The access section compiled for lookups: server -> subject -> grants."""

    __slots__ = ("_implied", "_rules", "_server", "_shapes", "_teams_by_claim", "section")

    def __init__(
        self,
        section: AccessSection,
        rules: Catalog | ServerRules,
        *,
        implied: Mapping[str, Sequence[Grant]] | None = None,
        cache_servers: int | None = None,
    ) -> None:
        """``rules`` is a source of per-server rules, or a catalog: then the grants are
        ``section.grants``. ``cache_servers`` bounds how many compiled servers are kept
        (``None``: all of them)."""
        self._rules: ServerRules = (
            InMemoryRules.of(section.grants, rules) if isinstance(rules, Mapping) else rules
        )
        self._implied = implied or {}
        # Grants of one shape (selections, annotations, conditions) share their compiled
        # matchers: a snapshot of 100,000 grants holds a few distinct shapes, not 100,000.
        self._shapes: dict[str, CompiledGrant] = {}
        self._server = lru_cache(maxsize=cache_servers)(self._compile_server)
        teams_by_claim: dict[str, list[tuple[str, str]]] = {}
        for team in section.teams.values():
            for value in team.claim_values:
                teams_by_claim.setdefault(value, []).append((team.id, team.workspace))
        self._teams_by_claim = {value: tuple(teams) for value, teams in teams_by_claim.items()}
        # Kept for its users, user index and teams; the grants are read through the rules.
        self.section = section.model_copy(update={"grants": []}) if section.grants else section

    @classmethod
    def of(cls, snapshot: Snapshot) -> AccessIndex:
        """The index of a snapshot held in memory: what the preview evaluates.

        An identity provider's ``servers`` are whole-server grants to its principals.
        """
        return cls.over(snapshot, InMemoryRules.of(snapshot.access.grants, catalog_of(snapshot)))

    @classmethod
    def over(cls, snapshot: Snapshot, rules: ServerRules, *, cache_servers: int | None = None) -> AccessIndex:
        """The index of ``snapshot`` whose per-server grants and tools come from ``rules``
        (``snapshot.servers`` and ``snapshot.access.grants`` are not read)."""
        return cls(
            snapshot.access,
            rules,
            implied=implied_grants(snapshot.identity_providers.values()),
            cache_servers=cache_servers,
        )

    def _compile_server(self, server: str) -> _CompiledServer:
        grouped: dict[str, list[CompiledGrant]] = {}
        for grant in (*self._rules.grants(server), *self._implied.get(server, ())):
            shape = grant.model_dump_json(exclude={"id", "name", "subject", "server"})
            compiled = self._shapes.get(shape)
            if compiled is None:
                compiled = self._shapes[shape] = CompiledGrant.of(grant)
            rule = f"grant:{grant.name or grant.id}"
            if compiled.rule != rule:
                compiled = replace(compiled, rule=rule)
            grouped.setdefault(grant.subject, []).append(compiled)
        return _CompiledServer(
            {subject: tuple(grants) for subject, grants in grouped.items()}, self._rules.tools(server)
        )

    def caller_for_key(self, key: KeyEntry) -> Caller:
        """The caller an agent key is: its workspace's agent, or its user limited by its scope."""
        scope = {s: None if t is None else frozenset(t) for s, t in key.servers.items()}
        label = f"key '{key.name}'"
        if not key.user:
            return caller(
                label, agent=key.id, workspaces=(key.workspace,), scope=scope or None, scope_grants=True
            )
        user = self.section.users.get(key.user)
        if user is None:  # the owner is gone: the key acts as nobody
            return caller(label, agent=key.id, disabled=True)
        return caller(
            label,
            agent=key.id,
            user=user.id,
            teams=user.teams,
            workspaces=(key.workspace, *user.workspaces),
            claims={"sub": user.id, "email": user.email},
            scope=scope or None,
            disabled=user.disabled,
        )

    def caller_for_token(
        self,
        *,
        provider: str,
        provider_workspace: str,
        subject: str,
        email: str = "",
        groups: Sequence[str] = (),
        roles: Sequence[str] = (),
        team: str = "",
        claims: Mapping[str, Any] | None = None,
    ) -> Caller:
        """The caller an identity provider's token is: the matching user (by subject at that
        provider, else by verified email), plus the teams its groups, roles or team claim map to.

        Claim-mapped teams count only for providers of the team's workspace or of the whole
        organization (no ``provider_workspace``), so equal group names of two tenants never mix.
        """
        raw = dict(claims or {})
        users = self.section.user_index
        user_id = users.get(f"sub:{provider}:{subject}", "")
        if not user_id and email and raw.get("email_verified") is not False:
            user_id = users.get(f"email:{email.lower()}", "")
        user = self.section.users.get(user_id) if user_id else None
        teams: set[str] = set(user.teams) if user is not None else set()
        workspaces: set[str] = set(user.workspaces) if user is not None else set()
        if provider_workspace:
            workspaces.add(provider_workspace)
        for value in (*groups, *roles, *((team,) if team else ())):
            for team_id, team_workspace in self._teams_by_claim.get(value, ()):
                if not provider_workspace or provider_workspace == team_workspace:
                    teams.add(team_id)
                    workspaces.add(team_workspace)
        raw.update(
            {"sub": subject, "email": email, "groups": list(groups), "roles": list(roles), "team": team}
        )
        return caller(
            f"user {email or subject}",
            user=user.id if user is not None else "",
            teams=teams,
            workspaces=workspaces,
            provider=provider,
            claims=raw,
            disabled=user is not None and user.disabled,
        )

    def view(self, who: Caller, server: str) -> ServerView:
        """The grants of ``server`` that apply to ``who`` (bounded: one probe per subject)."""
        compiled = self._server(server)
        tools = compiled.tools
        if who.disabled:
            return self._refused(who, server, tools, DISABLED_USER, f"{who.label} is disabled")
        scoped_tools: frozenset[str] | None = None
        if who.scope is not None:
            if server not in who.scope:
                return self._refused(
                    who, server, tools, KEY_SCOPE, f"server '{server}' is outside the scope of {who.label}"
                )
            scoped_tools = who.scope[server]
        by_subject = compiled.by_subject
        allows: list[CompiledGrant] = []
        denies: list[CompiledGrant] = []
        for subject in who.subjects:
            for grant in by_subject.get(subject, ()):
                if grant.applies(who.claims):
                    (allows if grant.allow else denies).append(grant)
        for grant in denies:
            if grant.whole_server:
                return self._refused(
                    who,
                    server,
                    tools,
                    grant.rule,
                    f"server '{server}' is denied to {who.label} by {grant.rule}",
                )
        scope_grant = who.scope_grants and who.scope is not None
        if not allows and not scope_grant:
            return self._refused(
                who, server, tools, DEFAULT_DENY, f"no grant gives {who.label} access to server '{server}'"
            )
        return ServerView(who, server, tuple(allows), tuple(denies), scoped_tools, scope_grant, tools, None)

    @staticmethod
    def _refused(
        who: Caller, server: str, tools: Mapping[str, Annotations], rule: str, reason: str
    ) -> ServerView:
        return ServerView(who, server, (), (), None, False, tools, Decision(False, rule, reason))
