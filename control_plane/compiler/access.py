"""Rows -> the snapshot's access section: grants, users, teams, authorization webhooks.

Pure reads, linear in the rows: each table is read once and every lookup is a dict probe, so
100,000 grants cost 100,000 small conversions and nothing quadratic. Subjects are written the
way ``shared.access`` probes them: ``agent:<key id>``, ``user:<user id>``, ``team:<team id>``,
``workspace:<slug>``, ``provider:<slug>``. A grant whose subject was deleted meanwhile (the
repos remove those, this is the belt to their braces) or whose server is not in the snapshot is
left out. Identity providers' ``servers`` lists are not copied into grants here: the shared
evaluation derives them from ``Snapshot.identity_providers`` (``AccessIndex.of``).

Webhook header values are secrets: :func:`attach_webhook_headers` puts them in sealed to the
group key, and as digests in the "stable" twin the content key is computed from (see
``compiler/snapshot.py``).
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Callable, Mapping
from typing import Any

from joserfc.jwk import OKPKey
from sqlalchemy import Text, type_coerce
from sqlalchemy import select as sql_select
from sqlmodel import Session, col, select

from control_plane.crypto import SecretBox, SecretBoxError
from control_plane.models import (
    AgentKey,
    AuthzWebhook,
    Grant,
    IdentityProvider,
    Team,
    TeamMember,
    User,
    UserIdentity,
    WorkspaceMember,
)
from shared import sealing
from shared.snapshot import Sealed, Snapshot
from shared.snapshot.access import (
    AccessSection,
    AuthzWebhookEntry,
    Condition,
    Selection,
    TeamEntry,
    UserEntry,
)
from shared.snapshot.access import Grant as GrantEntry


class AccessCompileError(Exception):
    """A webhook's headers cannot be decrypted."""


def compile_access(
    session: Session,
    *,
    workspace_slugs: Mapping[str, str],
    server_slugs: Mapping[str, str],
    only_server: str | None = None,
) -> AccessSection:
    """The access section for a snapshot whose servers are ``server_slugs`` (id -> slug).

    ``only_server`` (a server id) keeps just that server's grants (the decision preview).
    Webhooks come without their headers; see :func:`attach_webhook_headers`.
    """
    provider_slugs = dict(session.exec(select(IdentityProvider.id, IdentityProvider.slug)).all())
    users = _users(session, workspace_slugs=workspace_slugs, provider_slugs=provider_slugs)
    teams = _teams(session, workspace_slugs=workspace_slugs)
    return AccessSection(
        grants=_grants(
            session,
            workspace_slugs=workspace_slugs,
            server_slugs=server_slugs,
            provider_slugs=provider_slugs,
            known={"user": set(users[0]), "team": set(teams)},
            only_server=only_server,
        ),
        users=users[0],
        user_index=users[1],
        teams=teams,
        webhooks={
            workspace_slugs[hook.workspace_id]: AuthzWebhookEntry(
                url=hook.url,
                timeout_seconds=hook.timeout_seconds,
                cache_seconds=hook.cache_seconds,
                failure_mode="allow" if hook.failure_mode == "allow" else "deny",
            )
            for hook in session.exec(select(AuthzWebhook).order_by(AuthzWebhook.workspace_id))
            if hook.workspace_id in workspace_slugs
        },
    )


def _users(
    session: Session, *, workspace_slugs: Mapping[str, str], provider_slugs: Mapping[str, str]
) -> tuple[dict[str, UserEntry], dict[str, str]]:
    """User id -> entry, and the index ``sub:{provider}:{subject}`` / ``email:{address}`` -> id."""
    workspaces_of: dict[str, list[str]] = defaultdict(list)
    for user_id, workspace_id in session.exec(select(WorkspaceMember.user_id, WorkspaceMember.workspace_id)):
        if workspace_id in workspace_slugs:
            workspaces_of[user_id].append(workspace_slugs[workspace_id])
    teams_of: dict[str, list[str]] = defaultdict(list)
    for team_id, user_id in session.exec(select(TeamMember.team_id, TeamMember.user_id)):
        teams_of[user_id].append(team_id)
    users: dict[str, UserEntry] = {}
    index: dict[str, str] = {}
    for user in session.exec(select(User).order_by(User.id)):
        users[user.id] = UserEntry(
            id=user.id,
            email=user.email,
            workspaces=sorted(workspaces_of[user.id]),
            teams=sorted(teams_of[user.id]),
            disabled=user.disabled,
        )
        index[f"email:{user.email.lower()}"] = user.id
    identities = select(UserIdentity.provider_id, UserIdentity.subject, UserIdentity.user_id)
    for provider_id, subject, user_id in session.exec(identities):
        if provider_id in provider_slugs and user_id in users:
            index[f"sub:{provider_slugs[provider_id]}:{subject}"] = user_id
    return users, dict(sorted(index.items()))


def _teams(session: Session, *, workspace_slugs: Mapping[str, str]) -> dict[str, TeamEntry]:
    return {
        team.id: TeamEntry(
            id=team.id,
            slug=team.slug,
            workspace=workspace_slugs[team.workspace_id],
            claim_values=list(team.claim_values),
        )
        for team in session.exec(select(Team).order_by(Team.id))
        if team.workspace_id in workspace_slugs
    }


def _grants(
    session: Session,
    *,
    workspace_slugs: Mapping[str, str],
    server_slugs: Mapping[str, str],
    provider_slugs: Mapping[str, str],
    known: dict[str, set[str]],
    only_server: str | None,
) -> list[GrantEntry]:
    """Grants in name order (which names the rule when several allow), dangling ones left out.

    Columns are read as plain values (no ORM objects), and selections and conditions are
    parsed once per distinct stored text: most grants share a handful of shapes, so 100,000
    grants cost 100,000 dict lookups rather than 500,000 JSON parses and model validations.
    """
    query = sql_select(
        col(Grant.id),
        col(Grant.name),
        col(Grant.server_id),
        col(Grant.subject_kind),
        col(Grant.subject_id),
        col(Grant.effect),
        *(type_coerce(column, Text) for column in _RULE_COLUMNS),
    ).order_by(col(Grant.name), col(Grant.id))
    if only_server is not None:
        query = query.where(col(Grant.server_id) == only_server)
    rows: list[Any] = list(session.connection().execute(query).all())
    agents = select(AgentKey.id)
    if only_server is not None:
        agents = agents.where(col(AgentKey.id).in_([r[4] for r in rows if r[3] == "agent"]))
    known["agent"] = set(session.exec(agents))
    by_slug: dict[str, Mapping[str, str]] = {"workspace": workspace_slugs, "provider": provider_slugs}
    parse = _RuleParser()
    entries: list[GrantEntry] = []
    for row in rows:
        grant_id, name, server_id, kind, subject_id, effect, tools, hints, prompts, resources, conditions = (
            row
        )
        server = server_slugs.get(server_id)
        if server is None:
            continue
        if kind in by_slug:
            subject = by_slug[kind].get(subject_id)
        else:
            subject = subject_id if subject_id in known.get(kind, ()) else None
        if subject is None:
            continue
        entries.append(
            GrantEntry(
                id=grant_id,
                name=name,
                subject=f"{kind}:{subject}",
                server=server,
                effect="deny" if effect == "deny" else "allow",
                tools=parse.selection(tools),
                annotations=parse.annotations(hints),
                prompts=parse.selection(prompts),
                resources=parse.selection(resources),
                conditions=parse.conditions(conditions),
            )
        )
    return entries


_RULE_COLUMNS = (Grant.tools, Grant.annotations, Grant.prompts, Grant.resources, Grant.conditions)


class _RuleParser:
    """Stored JSON -> frozen selection and condition models, once per distinct text."""

    def __init__(self) -> None:
        self._selections: dict[str, Selection] = {}
        self._annotations: dict[str, dict[str, bool]] = {}
        self._conditions: dict[str, list[Condition]] = {}

    @staticmethod
    def _text(raw: Any) -> str:
        # SQLite hands the column's text back; a driver that decodes JSON itself hands objects.
        return raw if isinstance(raw, str) else json.dumps(raw, sort_keys=True)

    def selection(self, raw: Any) -> Selection:
        text = self._text(raw)
        found = self._selections.get(text)
        if found is None:
            found = self._selections[text] = Selection.model_validate(json.loads(text) or {})
        return found

    def annotations(self, raw: Any) -> dict[str, bool]:
        text = self._text(raw)
        found = self._annotations.get(text)
        if found is None:
            found = self._annotations[text] = {str(k): bool(v) for k, v in (json.loads(text) or {}).items()}
        return found

    def conditions(self, raw: Any) -> list[Condition]:
        text = self._text(raw)
        found = self._conditions.get(text)
        if found is None:
            found = self._conditions[text] = [Condition.model_validate(c) for c in json.loads(text) or []]
        return found


def attach_webhook_headers(
    session: Session,
    *,
    stable: Snapshot,
    sealed: Snapshot,
    secrets: SecretBox,
    workspace_slugs: Mapping[str, str],
    group_key: Callable[[], OKPKey],
    digest: Callable[[str, str], str],
) -> tuple[Snapshot, Snapshot]:
    """``stable`` and ``sealed`` with each webhook's headers: digests, and sealed to the group key."""
    opened: dict[str, dict[str, str]] = {}
    query = select(AuthzWebhook).where(AuthzWebhook.headers_encrypted != "")
    for hook in session.exec(query):
        slug = workspace_slugs.get(hook.workspace_id)
        if slug is None or slug not in stable.access.webhooks:
            continue
        try:
            headers = json.loads(secrets.decrypt(hook.headers_encrypted))
        except (SecretBoxError, ValueError) as exc:
            raise AccessCompileError(
                f"headers of the authorization webhook of {slug!r} cannot be decrypted"
            ) from exc
        opened[slug] = {str(name): str(value) for name, value in headers.items()}
    if not opened:
        return stable, sealed
    key = group_key()

    def with_headers(snapshot: Snapshot, value_of: Callable[[str, str], str]) -> Snapshot:
        hooks = {
            slug: entry.model_copy(
                update={
                    "headers": {
                        name: Sealed(sealed=value_of(name, value))
                        for name, value in sorted(opened.get(slug, {}).items())
                    }
                }
            )
            for slug, entry in snapshot.access.webhooks.items()
        }
        access = snapshot.access.model_copy(update={"webhooks": hooks})
        return snapshot.model_copy(update={"access": access})

    return (
        with_headers(stable, digest),
        with_headers(sealed, lambda _name, value: sealing.seal(value, key)),
    )
