"""Access grants: who may (or may not) use a server, or some of its tools, prompts, resources.

A grant belongs to its server's workspace. Its subject is named in requests by id or by a
readable name (key name, user email, team / workspace / provider slug) and stored by id; it
must exist when the grant is written. Every write records a config revision.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import Any

from sqlmodel import Session, col, select

from control_plane.models import AgentKey, Grant, IdentityProvider, Server, Team, User, Workspace
from control_plane.models.grant import (
    GrantCreate,
    GrantPublic,
    GrantRules,
    GrantSubjectPublic,
    GrantSubjectRef,
    GrantUpdate,
)
from control_plane.repos import keys, revisions, teams, users, workspaces
from control_plane.repos.errors import Conflict, Invalid, NotFound


def server_named(session: Session, slug: str) -> Server:
    """The server a grant is about; a missing one is :class:`Invalid` (the body names it)."""
    server = session.exec(select(Server).where(Server.slug == slug)).first()
    if server is None:
        raise Invalid(f"server {slug!r} does not exist")
    return server


def _workspace_ref(session: Session, ref: str) -> str | None:
    found = session.get(Workspace, ref) or workspaces.find(session, slug=ref)
    return found.id if found is not None else None


def _provider_ref(session: Session, ref: str, server: Server) -> str | None:
    found = (
        session.get(IdentityProvider, ref)
        or session.exec(select(IdentityProvider).where(IdentityProvider.slug == ref)).first()
    )
    if found is None:
        return None
    if found.workspace_id not in (None, server.workspace_id):
        raise Invalid(f"identity provider {found.slug!r} belongs to another workspace")
    return found.id


def _key_ref(session: Session, ref: str, server: Server) -> str | None:
    key = session.get(AgentKey, ref)
    if key is None:
        key = keys.find_by_name(session, workspace_id=server.workspace_id, name=ref)
    # Keys of other workspaces are never named: their scope cannot reach this server anyway.
    return key.id if key is not None and key.workspace_id == server.workspace_id else None


def _team_ref(session: Session, ref: str, server: Server) -> str | None:
    try:
        return teams.resolve(session, workspace_id=server.workspace_id, ref=ref).id
    except NotFound:
        return None


def resolve_subject(session: Session, *, subject: GrantSubjectRef, server: Server) -> str:
    """The stored id of the subject a request names; :class:`Invalid` when there is no such subject.

    Keys and teams are looked up in the server's workspace; identity providers must be the
    server's workspace's or the organization's.
    """
    ref = subject.id
    found: str | None
    if subject.kind == "agent":
        found = _key_ref(session, ref, server)
    elif subject.kind == "user":
        user = users.find(session, ref=ref)
        found = user.id if user is not None else None
    elif subject.kind == "team":
        found = _team_ref(session, ref, server)
    elif subject.kind == "workspace":
        found = _workspace_ref(session, ref)
    else:
        found = _provider_ref(session, ref, server)
    if found is None:
        raise Invalid(f"the grant's subject {subject.kind} {ref!r} does not exist")
    return found


def _rules(data: GrantRules | GrantUpdate) -> dict[str, Any]:
    """The rule columns set in ``data``, in the stored (snapshot) shape."""
    dumped = data.model_dump(mode="json", exclude_unset=isinstance(data, GrantUpdate))
    return {
        name: dumped[name]
        for name in ("effect", "tools", "annotations", "prompts", "resources", "conditions")
        if dumped.get(name) is not None
    }


def find(session: Session, *, workspace_id: str, name: str) -> Grant | None:
    """The grant called ``name`` in a workspace, or ``None``."""
    return session.exec(select(Grant).where(Grant.workspace_id == workspace_id, Grant.name == name)).first()


def get(session: Session, *, grant_id: str) -> Grant:
    """The grant with ``grant_id``; :class:`NotFound` when there is none."""
    grant = session.get(Grant, grant_id)
    if grant is None:
        raise NotFound(f"grant {grant_id!r} does not exist")
    return grant


def create(session: Session, *, data: GrantCreate, record_revision: bool = True) -> Grant:
    """Create a grant on ``data.server``; a name taken in its workspace is a :class:`Conflict`."""
    server = server_named(session, data.server)
    if find(session, workspace_id=server.workspace_id, name=data.name) is not None:
        raise Conflict(f"the server's workspace already has a grant named {data.name!r}")
    grant = Grant(
        workspace_id=server.workspace_id,
        name=data.name,
        server_id=server.id,
        subject_kind=data.subject.kind,
        subject_id=resolve_subject(session, subject=data.subject, server=server),
        **_rules(data),
    )
    session.add(grant)
    if record_revision:
        revisions.record(session, reason=f"grant {data.name} on {server.slug} created")
    session.flush()
    return grant


def list_all(
    session: Session,
    *,
    workspace_ids: Collection[str] | None = None,
    server_id: str | None = None,
    subject_kind: str | None = None,
) -> list[Grant]:
    """Grants, filtered by owning workspaces, server and subject kind; by workspace and name."""
    query = select(Grant).order_by(Grant.workspace_id, Grant.name)
    if workspace_ids is not None:
        query = query.where(col(Grant.workspace_id).in_(list(workspace_ids)))
    if server_id is not None:
        query = query.where(Grant.server_id == server_id)
    if subject_kind is not None:
        query = query.where(Grant.subject_kind == subject_kind)
    return list(session.exec(query))


def update(
    session: Session, *, grant_id: str, data: GrantUpdate, record_revision: bool = True
) -> tuple[Grant, bool]:
    """Replace the fields set in ``data``; returns the grant and whether anything changed."""
    grant = get(session, grant_id=grant_id)
    fields = _rules(data)
    if data.name is not None and data.name != grant.name:
        if find(session, workspace_id=grant.workspace_id, name=data.name) is not None:
            raise Conflict(f"the workspace already has a grant named {data.name!r}")
        fields["name"] = data.name
    changed = {name for name, value in fields.items() if getattr(grant, name) != value}
    for name in changed:
        setattr(grant, name, fields[name])
    if changed:
        session.add(grant)
        if record_revision:
            revisions.record(session, reason=f"grant {grant.name} updated")
        session.flush()
    return grant, bool(changed)


def delete(session: Session, *, grant_id: str) -> None:
    """Delete a grant."""
    grant = get(session, grant_id=grant_id)
    session.delete(grant)
    revisions.record(session, reason=f"grant {grant.name} deleted")
    session.flush()


_NAMES: dict[str, tuple[Any, Any]] = {
    "agent": (AgentKey.id, AgentKey.name),
    "user": (User.id, User.email),
    "team": (Team.id, Team.slug),
    "workspace": (Workspace.id, Workspace.slug),
    "provider": (IdentityProvider.id, IdentityProvider.slug),
}


def subject_names(session: Session, grants: Sequence[Grant]) -> dict[tuple[str, str], str]:
    """(kind, id) -> readable name of every subject ``grants`` name (one query per kind)."""
    wanted: dict[str, set[str]] = {}
    for grant in grants:
        wanted.setdefault(grant.subject_kind, set()).add(grant.subject_id)
    names: dict[tuple[str, str], str] = {}
    for kind, ids in wanted.items():
        id_column, name_column = _NAMES[kind]
        for row_id, name in session.exec(select(id_column, name_column).where(col(id_column).in_(ids))):
            names[(kind, row_id)] = name
    return names


def to_public(session: Session, grants: Sequence[Grant]) -> list[GrantPublic]:
    """The API form of ``grants`` (subjects named, servers and workspaces by slug)."""
    slugs = workspaces.slugs_by_id(session)
    server_ids = {g.server_id for g in grants}
    server_slugs = dict(
        session.exec(select(Server.id, Server.slug).where(col(Server.id).in_(server_ids))).all()
    )
    names = subject_names(session, grants)
    return [
        GrantPublic.model_validate(
            {
                "id": g.id,
                "name": g.name,
                "workspace": slugs.get(g.workspace_id, ""),
                "server": server_slugs.get(g.server_id, ""),
                "subject": GrantSubjectPublic.model_validate(
                    {
                        "kind": g.subject_kind,
                        "id": g.subject_id,
                        "name": names.get((g.subject_kind, g.subject_id), ""),
                    }
                ),
                "effect": g.effect,
                "tools": g.tools,
                "annotations": g.annotations,
                "prompts": g.prompts,
                "resources": g.resources,
                "conditions": g.conditions,
                "created_at": g.created_at,
            }
        )
        for g in grants
    ]
