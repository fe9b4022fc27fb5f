"""THE request chain: the one place that knows the order of the stages.

    transport -> parse -> headers -> authenticate -> route -> session -> authorize -> tasks
              -> upstream -> audit

The first eight decide; the first denial short-circuits to the error answer. A stage that
needs I/O before it can decide (authenticate: fetching an identity provider's signing keys or
introspecting an opaque token, asking a workspace's authentication webhook; authorize: asking a
workspace's authorization webhook) returns the context with ``pending`` set; the chain awaits it
and runs that stage again (a bounded number of times), so stages stay synchronous and the order stays here. ``transport``
comes first so a foreign Host or Origin is refused before anything is read; ``session`` needs
the principal and the server, so it follows authenticate and route; ``tasks`` binds MCP task
ids to the caller once it is known and allowed. ``upstream`` forwards and
streams the answer back; for a virtual server (route found one) ``compose`` answers instead,
fanning out to its members. ``audit`` always runs last, on success, on denial and
when a stage raised (the exception then continues to the top-level middleware).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from functools import partial

import aiohttp

from data_plane.audit.buffer import AuditBuffer
from data_plane.errors import internal_error_outcome
from data_plane.pipeline.context import Denial, DenialKind, Outcome, RequestContext
from data_plane.pipeline.sink import ResponseSink
from data_plane.runtime.authz_webhook import WebhookDecider
from data_plane.runtime.identity.verifier import IdentityVerifier
from data_plane.runtime.identity.webhook import AuthnWebhookClient
from data_plane.runtime.sessions import SessionSealer
from data_plane.runtime.task_ids import TaskIds
from data_plane.runtime.transport_policy import TransportPolicy
from data_plane.runtime.upstream import UpstreamClient
from data_plane.stages.audit import audit
from data_plane.stages.authenticate import authenticate
from data_plane.stages.authorize import authorize
from data_plane.stages.compose import Compose
from data_plane.stages.headers import match_headers
from data_plane.stages.parse import parse
from data_plane.stages.route import route
from data_plane.stages.session import open_session
from data_plane.stages.tasks import bind_tasks
from data_plane.stages.transport import check_transport
from data_plane.stages.upstream import call_upstream, relay

Stage = Callable[[RequestContext], RequestContext | Denial]
Forward = Callable[[RequestContext], Awaitable[aiohttp.ClientResponse | Denial]]
Relay = Callable[[RequestContext, aiohttp.ClientResponse, ResponseSink], Awaitable[Outcome]]
Record = Callable[[RequestContext, Outcome], None]
Answer = Callable[[RequestContext, ResponseSink], Awaitable[Outcome]]

CANCELLED = Outcome("error", 499, reason="request cancelled: the client went away")
MAX_PENDING_ROUNDS = 3
"""Awaited steps one stage may ask for (an opaque token: introspection, then the authentication
webhook), so a stage that keeps asking cannot hold a request forever."""
UNRESOLVED = Denial(DenialKind.INVALID_TOKEN, "the token could not be verified")


def decision_stages(
    *,
    policy: TransportPolicy,
    sealer: SessionSealer,
    session_max_age: float | None,
    identity: IdentityVerifier | None = None,
    public_base_url: str = "",
    webhooks: WebhookDecider | None = None,
    authn_webhooks: AuthnWebhookClient | None = None,
    task_ids: TaskIds | None = None,
) -> tuple[Stage, ...]:
    """The deciding stages in production order, bound to what they need (built once)."""
    return (
        partial(check_transport, policy=policy),
        parse,
        match_headers,
        partial(
            authenticate, identity=identity, public_base_url=public_base_url, authn_webhooks=authn_webhooks
        ),
        route,
        partial(open_session, sealer=sealer, max_age=session_max_age),
        partial(authorize, webhooks=webhooks),
        partial(bind_tasks, task_ids=task_ids or TaskIds.ephemeral()),
    )


@dataclass(frozen=True, slots=True)
class Chain:
    """The stages wired to their dependencies; ``handle`` runs one request through them."""

    forward: Forward
    relay: Relay
    record: Record
    stages: tuple[Stage, ...]
    compose: Answer | None = None
    """Answers for virtual servers (``stages/compose.py``) instead of forward + relay."""

    async def decide(self, ctx: RequestContext) -> tuple[RequestContext, Denial | None]:
        """Run the deciding stages: the last context reached, and the denial if one refused."""
        for stage in self.stages:
            result = stage(ctx)
            rounds = 0
            while isinstance(result, RequestContext) and (pending := result.pending) is not None:
                # The stage needs I/O first (authenticate: signing keys, introspection, the
                # authentication webhook): await it, then run the same stage again. Each
                # awaited step fills a cache, so a stage decides within a few rounds.
                if rounds == MAX_PENDING_ROUNDS:
                    result = UNRESOLVED
                    break
                rounds += 1
                await pending()
                result = stage(ctx)
            if isinstance(result, Denial):
                return ctx, result
            ctx = result
        return ctx, None

    async def handle(self, ctx: RequestContext, sink: ResponseSink) -> Outcome:
        """Run ``ctx`` through the chain, answering on ``sink``; audit always runs."""
        outcome: Outcome | None = None
        try:
            ctx, denial = await self.decide(ctx)
            if denial is not None:
                outcome = await sink.deny(ctx, denial)
                return outcome
            outcome = await self._send(ctx, sink)
            return outcome
        except asyncio.CancelledError:
            # The client went away and aiohttp cancelled the handler (handler_cancellation=True);
            # an SSE client often hangs up right after its answer: that call went fine.
            outcome = sink.settled or CANCELLED
            raise
        finally:
            self.record(
                ctx,
                outcome if outcome is not None else internal_error_outcome("request failed in the gateway"),
            )

    async def complete(self, ctx: RequestContext, sink: ResponseSink) -> Outcome:
        """Forward a context :meth:`decide` allowed and relay the answer to ``sink``; audit runs.

        For transports that acknowledge a message before its answer exists (the legacy SSE
        endpoint answers 202, then delivers the answer on its event stream).
        """
        outcome: Outcome | None = None
        try:
            outcome = await self._send(ctx, sink)
            return outcome
        except asyncio.CancelledError:
            outcome = sink.settled or CANCELLED
            raise
        finally:
            self.record(
                ctx,
                outcome if outcome is not None else internal_error_outcome("request failed in the gateway"),
            )

    async def _send(self, ctx: RequestContext, sink: ResponseSink) -> Outcome:
        if ctx.virtual is not None and self.compose is not None:
            return await self.compose(ctx, sink)
        reply = await self.forward(ctx)
        if isinstance(reply, Denial):
            return await sink.deny(ctx, reply)
        return await self.relay(ctx, reply, sink)


def build_chain(
    *,
    client: UpstreamClient,
    buffer: AuditBuffer,
    node_id: str,
    policy: TransportPolicy,
    sealer: SessionSealer,
    session_max_age: float | None = None,
    identity: IdentityVerifier | None = None,
    public_base_url: str = "",
    webhooks: WebhookDecider | None = None,
    authn_webhooks: AuthnWebhookClient | None = None,
    task_ids: TaskIds | None = None,
) -> Chain:
    """The production chain: real upstream client, sealed sessions, audit into ``buffer``."""

    async def forward(ctx: RequestContext) -> aiohttp.ClientResponse | Denial:
        return await call_upstream(ctx, client)

    def record(ctx: RequestContext, outcome: Outcome) -> None:
        audit(ctx, outcome, buffer, node_id)

    return Chain(
        forward=forward,
        relay=partial(relay, sealer=sealer),
        record=record,
        compose=Compose(client=client, sealer=sealer, webhooks=webhooks),
        stages=decision_stages(
            policy=policy,
            sealer=sealer,
            session_max_age=session_max_age,
            identity=identity,
            public_base_url=public_base_url,
            webhooks=webhooks,
            authn_webhooks=authn_webhooks,
            task_ids=task_ids,
        ),
    )
