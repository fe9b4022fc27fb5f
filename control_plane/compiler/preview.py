"""The access decision preview: the data planes' own evaluation, run on a one-server snapshot.

The snapshot is compiled by the same functions as the real one (``compile_access``,
``key_entry``, ``tool_entry``, ``provider_entry``) but holds only the server asked about, its
grants, and the key asked about, and no secrets; ``shared.access.AccessIndex.of`` then decides
exactly as a data plane holding the current snapshot would. There is no second implementation
of the rules here, only the choice of what to ask.
"""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session, select

from control_plane.compiler.access import compile_access
from control_plane.compiler.providers import provider_entry
from control_plane.compiler.snapshot import key_entry, tool_entry
from control_plane.models import AgentKey, IdentityProvider, Server, Tool, Workspace
from control_plane.models.preview import KeyCaller, PreviewAnswer, PreviewRequest, TokenCaller
from control_plane.repos import revisions
from control_plane.repos.errors import Invalid
from shared.access import AccessIndex, Caller, Decision, caller
from shared.snapshot import ServerEntry, Snapshot

KEY_UNUSABLE = "key-unusable"


def preview_snapshot(session: Session, *, server: Server, key: AgentKey | None, now: datetime) -> Snapshot:
    """A snapshot of ``server`` alone (plus ``key``), compiled like the real one, without secrets."""
    workspace_slugs = {w.id: w.slug for w in session.exec(select(Workspace))}
    tools = {t.name: tool_entry(t) for t in session.exec(select(Tool).where(Tool.server_id == server.id))}
    entry = ServerEntry(
        id=server.id, workspace=workspace_slugs.get(server.workspace_id, ""), url=server.url, tools=tools
    )
    keys = {}
    if key is not None:
        # The scope is cut to existing servers over all of them, as the real compile does.
        every_server = set(session.exec(select(Server.slug)))
        found = key_entry(key, workspace_slugs=workspace_slugs, servers=every_server, now=now)
        if found is not None:
            keys[key.key_hash] = found
    providers = {
        p.issuer: provider_entry(
            p,
            workspace=workspace_slugs.get(p.workspace_id, "") if p.workspace_id else "",
            servers={server.slug},
        )
        for p in session.exec(select(IdentityProvider))
    }
    return Snapshot(
        version=str(revisions.latest(session)),
        hash="",
        group="preview",
        created_at=int(now.timestamp()),
        workspaces=sorted(workspace_slugs.values()),
        servers={server.slug: entry},
        keys=keys,
        identity_providers=providers,
        access=compile_access(
            session,
            workspace_slugs=workspace_slugs,
            server_slugs={server.id: server.slug},
            only_server=server.id,
        ),
    )


def _token_caller(index: AccessIndex, snapshot: Snapshot, asked: TokenCaller) -> Caller:
    provider = next((p for p in snapshot.identity_providers.values() if p.slug == asked.provider), None)
    if provider is None:
        raise Invalid(f"identity provider {asked.provider!r} does not exist")
    return index.caller_for_token(
        provider=provider.slug,
        provider_workspace=provider.workspace,
        subject=asked.subject,
        email=asked.email,
        groups=asked.groups,
        roles=asked.roles,
        team=asked.team,
        claims=asked.claims,
    )


def _user_caller(index: AccessIndex, ref: str) -> Caller:
    section = index.section
    user = section.users.get(ref) or section.users.get(
        section.user_index.get(f"email:{ref.strip().lower()}", "")
    )
    if user is None:
        raise Invalid(f"user {ref!r} does not exist")
    return caller(
        f"user {user.email}",
        user=user.id,
        teams=user.teams,
        workspaces=user.workspaces,
        claims={"sub": user.id, "email": user.email},
        disabled=user.disabled,
    )


def decide(
    session: Session, *, request: PreviewRequest, server: Server, key: AgentKey | None, now: datetime
) -> PreviewAnswer:
    """What a data plane holding the current configuration would decide for ``request``.

    ``key`` is the row of the key the request names (the caller checked it may see it).
    """
    snapshot = preview_snapshot(session, server=server, key=key, now=now)
    index = AccessIndex.of(snapshot)
    asked = request.caller
    if isinstance(asked, KeyCaller):
        if key is None or key.key_hash not in snapshot.keys:
            label = f"key '{key.name}'" if key is not None else f"key {asked.id!r}"
            reason = f"{label} is revoked or expired: the data planes refuse it (401)"
            return PreviewAnswer(
                allowed=False,
                rule=KEY_UNUSABLE,
                reason=reason,
                snapshot_version=snapshot.version,
                caller=label,
            )
        who = index.caller_for_key(snapshot.keys[key.key_hash])
    elif isinstance(asked, TokenCaller):
        who = _token_caller(index, snapshot, asked)
    else:
        who = _user_caller(index, asked.id)
    view = index.view(who, server.slug)
    decision: Decision
    if request.tool is not None:
        decision = view.decide("tool", request.tool)
    elif request.prompt is not None:
        decision = view.decide("prompt", request.prompt)
    elif request.resource is not None:
        decision = view.decide("resource", request.resource)
    else:
        decision = view.server_decision()
    workspace = snapshot.servers[server.slug].workspace
    return PreviewAnswer(
        allowed=decision.allowed,
        rule=decision.rule,
        reason=decision.reason,
        snapshot_version=snapshot.version,
        caller=who.label,
        webhook=decision.allowed and workspace in snapshot.access.webhooks,
    )
