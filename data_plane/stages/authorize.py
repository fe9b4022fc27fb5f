"""Stage 7, authorize: may this principal use this server, and this tool, prompt or resource?

The decision is ``shared.access``'s, the same code the control plane's preview runs: key scope
ceiling, then explicit deny, then allow (key scope, agent, user, teams, workspaces, identity
provider), then default deny; a bounded number of dict probes, never a scan. A list request
(``tools/list``, ``prompts/list``, ``resources/list``, ``resources/templates/list``) gets a
:class:`ListFilter` unless the caller may use every entry, and the response path applies it.
Every decision names its rule, which the audit event records with the snapshot version.

When the server's workspace has an authorization webhook, a call the grants allowed is also put
to it; the stage returns the context with ``pending`` set (the chain awaits the question and runs
the stage again, which then finds the verdict).
"""

from __future__ import annotations

from typing import Any

from msgspec.structs import replace

from data_plane.pipeline.context import Denial, DenialKind, RequestContext
from data_plane.runtime.authz_webhook import Webhook, WebhookDecider
from data_plane.runtime.compiled import CompiledSnapshot, Principal
from data_plane.runtime.responses import ListFilter
from shared.access import Caller, ItemKind, ServerView

_UNAUTHENTICATED = Denial(DenialKind.UNAUTHENTICATED, "no principal")
_NOT_READY = Denial(DenialKind.NOT_READY, "the data plane holds no verified snapshot yet")

_LISTS: dict[str, tuple[ItemKind, str, str]] = {
    "tools/list": ("tool", "tools", "name"),
    "prompts/list": ("prompt", "prompts", "name"),
    "resources/list": ("resource", "resources", "uri"),
    "resources/templates/list": ("resource", "resourceTemplates", "uriTemplate"),
}
"""List method -> (item kind, result key, entry field holding the name or URI)."""


def caller_of(principal: Principal, snapshot: CompiledSnapshot) -> Caller:
    """The principal as access control sees it (an IdP principal is resolved per snapshot)."""
    if principal.caller is not None:
        return principal.caller
    return snapshot.access.caller_for_token(
        provider=principal.identity_provider,
        provider_workspace=principal.workspace,
        subject=principal.subject,
        email=principal.email,
        groups=principal.groups,
        roles=principal.roles,
        team=principal.team,
        claims=principal.claims,
    )


def authorize(ctx: RequestContext, *, webhooks: WebhookDecider | None = None) -> RequestContext | Denial:
    """Decide with the snapshot's grants (and webhook); a denial says which rule refused."""
    principal = ctx.principal
    if principal is None:
        return _UNAUTHENTICATED
    snapshot = ctx.snapshot
    if snapshot is None:
        return _NOT_READY
    if ctx.virtual is not None:
        return _authorize_virtual(ctx, principal, snapshot)
    view = snapshot.access.view(caller_of(principal, snapshot), ctx.slug)
    decision = view.server_decision()
    if not decision.allowed:
        return Denial(DenialKind.SERVER_FORBIDDEN, decision.reason, decision.rule)
    if ctx.rpc_method == "subscriptions/listen":
        refused = _refused_subscription(ctx, view)
        if refused is not None:
            return refused
    kind = ctx.item_kind
    if kind is not None:
        decision = view.decide(kind, ctx.item)
        if not decision.allowed:
            return Denial(DenialKind.TOOL_FORBIDDEN, decision.reason, decision.rule)
        hook = snapshot.webhooks.get(ctx.upstream.workspace) if ctx.upstream is not None else None
        if hook is not None and webhooks is not None:
            return _ask_webhook(ctx, webhooks, hook, principal, kind, decision.rule)
        return replace(ctx, rule=decision.rule, pending=None)
    listed = _LISTS.get(ctx.rpc_method)
    if listed is None or view.unrestricted(listed[0]):
        return replace(ctx, rule=decision.rule)
    return replace(ctx, rule=decision.rule, list_filter=_list_filter(view, *listed))


def _refused_subscription(ctx: RequestContext, view: ServerView) -> Denial | None:
    """A ``subscriptions/listen`` names resources to hear updates of: each must be one the
    caller may read (as ``resources/subscribe`` is checked in the legacy era)."""
    params = ctx.message.get("params") if ctx.message is not None else None
    wanted = params.get("notifications") if isinstance(params, dict) else None
    uris = wanted.get("resourceSubscriptions") if isinstance(wanted, dict) else None
    if uris is None:
        return None
    if not isinstance(uris, list) or not all(isinstance(uri, str) for uri in uris):
        return Denial(
            DenialKind.INVALID_REQUEST, "notifications.resourceSubscriptions must be a list of URIs"
        )
    for uri in uris:
        decision = view.decide("resource", uri)
        if not decision.allowed:
            return Denial(DenialKind.TOOL_FORBIDDEN, decision.reason, decision.rule)
    return None


def _authorize_virtual(
    ctx: RequestContext, principal: Principal, snapshot: CompiledSnapshot
) -> RequestContext | Denial:
    """A virtual server is used by whoever may use one of its members; each item it shows or
    routes is decided later, on its member server under its original name (``stages/compose``)."""
    assert ctx.virtual is not None
    who = caller_of(principal, snapshot)
    refusals: list[str] = []
    for member in ctx.virtual.members:
        decision = snapshot.access.view(who, member.server).server_decision()
        if decision.allowed:
            return replace(ctx, rule=decision.rule)
        refusals.append(decision.rule)
    rule = refusals[0] if len(set(refusals)) == 1 else "default-deny"
    return Denial(
        DenialKind.SERVER_FORBIDDEN,
        f"{who.label} may use no member server of virtual server '{ctx.slug}'",
        rule,
    )


def _ask_webhook(
    ctx: RequestContext,
    webhooks: WebhookDecider,
    hook: Webhook,
    principal: Principal,
    kind: ItemKind,
    rule: str,
) -> RequestContext | Denial:
    question = webhook_question(ctx, principal, ctx.slug, kind, ctx.item, rule)
    key = webhooks.key(hook, question)
    verdict = webhooks.answer(key)
    if verdict is None:
        snapshot_version = ctx.snapshot.version if ctx.snapshot is not None else ""
        return replace(
            ctx, pending=webhooks.ask(hook, key, {**question, "snapshot_version": snapshot_version})
        )
    if not verdict.allowed:
        return Denial(
            DenialKind.TOOL_FORBIDDEN, f"{ctx.item_kind} '{ctx.item}': {verdict.reason}", verdict.rule
        )
    return replace(ctx, rule=f"{rule}+{verdict.rule}", pending=None)


def webhook_question(
    ctx: RequestContext, principal: Principal, server: str, kind: ItemKind, name: str, rule: str
) -> dict[str, Any]:
    """What a workspace's authorization webhook is asked about one use of an item (never a secret)."""
    params = ctx.message.get("params") if ctx.message is not None else None
    arguments = params.get("arguments") if isinstance(params, dict) else None
    return {
        "principal": {
            "id": principal.key_id,
            "name": principal.name,
            "workspace": principal.workspace,
            "subject": principal.subject,
            "email": principal.email,
            "groups": list(principal.groups),
            "roles": list(principal.roles),
            "team": principal.team,
            "identity_provider": principal.identity_provider,
        },
        "server": server,
        "method": ctx.rpc_method,
        "kind": kind,
        "name": name,
        "arguments": arguments if isinstance(arguments, dict) else {},
        "rule": rule,
    }


def _list_filter(view: ServerView, kind: ItemKind, key: str, field: str) -> ListFilter:
    def keep(name: str) -> bool:
        return view.visible(kind, name)

    return ListFilter(key, field, keep)
