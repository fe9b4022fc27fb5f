"""Agent API keys: the secret is shown once at creation and stored only as its SHA-256."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlmodel import Session, select

from control_plane.models import AgentKey, AgentKeyCreate, AgentKeyPublic, AgentKeyUpdate, Server
from control_plane.models.common import utcnow
from control_plane.repos import access_refs, members, revisions, users, workspaces
from control_plane.repos.errors import Conflict, Invalid, NotFound
from shared import apikeys


def as_utc(moment: datetime | None) -> datetime | None:
    """``moment`` as an aware UTC datetime; a naive one is taken to be UTC already."""
    if moment is None:
        return None
    return moment.replace(tzinfo=UTC) if moment.utcoffset() is None else moment.astimezone(UTC)


def check_scope(
    session: Session, *, workspace_id: str, servers: list[str], tools: dict[str, list[str]]
) -> None:
    """Every server a scope names must exist in the key's own workspace (:class:`Invalid` if not)."""
    named = set(servers) | set(tools)
    if not named:
        return
    found = session.exec(select(Server.slug, Server.workspace_id).where(Server.slug.in_(named))).all()  # type: ignore[attr-defined]
    owners = dict(found)
    missing = sorted(named - owners.keys())
    if missing:
        raise Invalid(f"the key's scope names server(s) that do not exist: {', '.join(missing)}")
    foreign = sorted(slug for slug, owner in owners.items() if owner != workspace_id)
    if foreign:
        raise Invalid(f"the key's scope names server(s) of another workspace: {', '.join(foreign)}")


def owner_of(session: Session, *, workspace_id: str, owner: str | None) -> str | None:
    """The id of the user (id or email) a key will act as; they must be a workspace member."""
    if owner is None:
        return None
    user = users.find(session, ref=owner)
    if user is None:
        raise Invalid(f"the key's owner {owner!r} is not a user")
    if not members.is_member(session, workspace_id=workspace_id, user_id=user.id):
        raise Invalid(f"the key's owner {user.email!r} is not a member of the key's workspace")
    return user.id


def _check_secret_unused(session: Session, *, key_hash: str, key_id: str | None) -> None:
    clash = session.exec(select(AgentKey).where(AgentKey.key_hash == key_hash)).first()
    if clash is not None and clash.id != key_id:
        raise Conflict("another key already uses this secret")


def create(session: Session, *, data: AgentKeyCreate, record_revision: bool = True) -> tuple[AgentKey, str]:
    """Create a key; returns it with its secret (given for development, else generated)."""
    workspace = workspaces.get(session, slug=data.workspace)
    if find_by_name(session, workspace_id=workspace.id, name=data.name) is not None:
        raise Conflict(f"workspace {data.workspace!r} already has a key named {data.name!r}")
    check_scope(session, workspace_id=workspace.id, servers=data.servers, tools=data.tools)
    owner_user_id = owner_of(session, workspace_id=workspace.id, owner=data.owner)
    secret = data.secret or apikeys.new_secret()
    key_hash = apikeys.hash_secret(secret)
    _check_secret_unused(session, key_hash=key_hash, key_id=None)
    key = AgentKey(
        name=data.name,
        expires_at=as_utc(data.expires_at),
        workspace_id=workspace.id,
        owner_user_id=owner_user_id,
        key_hash=key_hash,
        prefix=apikeys.display_prefix(secret),
        scope_servers=list(dict.fromkeys(data.servers)),
        scope_tools={slug: list(dict.fromkeys(names)) for slug, names in data.tools.items()},
    )
    session.add(key)
    if record_revision:
        revisions.record(session, reason=f"key {data.workspace}/{data.name} created")
    session.flush()
    return key, secret


def set_secret(session: Session, *, key: AgentKey, secret: str) -> bool:
    """Give ``key`` a new secret; returns whether its stored hash changed."""
    key_hash = apikeys.hash_secret(secret)
    if key.key_hash == key_hash:
        return False
    _check_secret_unused(session, key_hash=key_hash, key_id=key.id)
    key.key_hash = key_hash
    key.prefix = apikeys.display_prefix(secret)
    session.add(key)
    return True


def find_by_name(session: Session, *, workspace_id: str, name: str) -> AgentKey | None:
    """The key called ``name`` in a workspace, or ``None``."""
    query = select(AgentKey).where(AgentKey.workspace_id == workspace_id, AgentKey.name == name)
    return session.exec(query).first()


def get(session: Session, *, key_id: str) -> AgentKey:
    """The key with ``key_id``; :class:`NotFound` when there is none."""
    key = session.get(AgentKey, key_id)
    if key is None:
        raise NotFound(f"key {key_id!r} does not exist")
    return key


def list_all(
    session: Session, *, workspace: str | None = None, include_revoked: bool = False
) -> list[AgentKey]:
    """Keys, newest first; revoked ones only when asked."""
    query = select(AgentKey).order_by(AgentKey.created_at.desc(), AgentKey.id)  # type: ignore[attr-defined]
    if workspace is not None:
        query = query.where(AgentKey.workspace_id == workspaces.get(session, slug=workspace).id)
    if not include_revoked:
        query = query.where(AgentKey.revoked_at == None)  # noqa: E711  (SQL IS NULL)
    return list(session.exec(query))


def update(
    session: Session, *, key_id: str, data: AgentKeyUpdate, record_revision: bool = True
) -> tuple[AgentKey, bool]:
    """Change scope or expiry (only fields present in ``data``); returns the key and whether it changed."""
    key = get(session, key_id=key_id)
    given = data.model_fields_set
    servers = list(dict.fromkeys(data.servers)) if data.servers is not None else key.scope_servers
    tools = (
        {slug: list(dict.fromkeys(names)) for slug, names in data.tools.items()}
        if data.tools is not None
        else key.scope_tools
    )
    check_scope(session, workspace_id=key.workspace_id, servers=servers, tools=tools)
    expires_at = as_utc(data.expires_at) if "expires_at" in given else key.expires_at
    changed = (servers, tools, expires_at) != (key.scope_servers, key.scope_tools, key.expires_at)
    if changed:
        key.scope_servers, key.scope_tools, key.expires_at = servers, tools, expires_at
        session.add(key)
        if record_revision:
            revisions.record(session, reason=f"key {key.id} updated")
        session.flush()
    return key, changed


def revoke(session: Session, *, key_id: str) -> AgentKey:
    """Revoke a key (idempotent: revoking twice keeps the first revocation time)."""
    key = get(session, key_id=key_id)
    if key.revoked_at is None:
        key.revoked_at = utcnow()
        session.add(key)
        revisions.record(session, reason=f"key {key.id} revoked")
        session.flush()
    return key


def delete(session: Session, *, key_id: str) -> None:
    """Delete a key for good, with the grants to it."""
    access_refs.forget_subject(session, kind="agent", subject_id=key_id)
    session.delete(get(session, key_id=key_id))
    revisions.record(session, reason=f"key {key_id} deleted")
    session.flush()


def to_public(key: AgentKey, *, workspace: str) -> AgentKeyPublic:
    """The API form of a key (never its hash or secret)."""
    return AgentKeyPublic(
        id=key.id,
        name=key.name,
        workspace=workspace,
        owner=key.owner_user_id,
        prefix=key.prefix,
        expires_at=key.expires_at,
        servers=key.scope_servers,
        tools=key.scope_tools,
        created_at=key.created_at,
        revoked_at=key.revoked_at,
    )
