from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import aiohttp
import pytest
from msgspec.structs import replace

from data_plane.pipeline.chain import Chain, decision_stages
from data_plane.pipeline.context import Denial, DenialKind, Outcome, RequestContext
from data_plane.pipeline.sink import ResponseSink
from data_plane.runtime.sessions import SessionSealer
from data_plane.runtime.transport_policy import TransportPolicy
from data_plane.stages.authenticate import authenticate
from data_plane.stages.authorize import authorize
from data_plane.stages.headers import match_headers
from data_plane.stages.parse import parse
from data_plane.stages.route import route
from data_plane.stages.session import open_session
from data_plane.stages.tasks import bind_tasks
from data_plane.stages.transport import check_transport
from tests.data_plane.kit import context


class Sink:
    """A response sink that records what the chain asked for."""

    def __init__(self) -> None:
        self.denials: list[Denial] = []
        self.settled: Outcome | None = None

    def settle(self, outcome: Outcome) -> None:
        self.settled = outcome

    async def deny(self, ctx: RequestContext, denial: Denial) -> Outcome:
        self.denials.append(denial)
        return Outcome("denied", 403, reason=denial.reason)

    async def send(self, status: int, headers: Mapping[str, str], body: bytes) -> None:
        raise AssertionError("not used")

    async def start(self, status: int, headers: Mapping[str, str], content_length: int | None) -> None:
        raise AssertionError("not used")

    async def write(self, chunk: bytes) -> None:
        raise AssertionError("not used")

    async def end(self) -> None:
        raise AssertionError("not used")


class Recorder:
    """Builds fake stages that log their names, and records the audit call."""

    def __init__(self) -> None:
        self.calls: list[str] = []
        self.audited: list[tuple[RequestContext, Outcome]] = []

    def stage(self, name: str, deny: bool = False, boom: bool = False) -> Any:
        def run(ctx: RequestContext) -> RequestContext | Denial:
            self.calls.append(name)
            if boom:
                raise RuntimeError("stage failed")
            if deny:
                return Denial(DenialKind.SERVER_FORBIDDEN, f"{name} said no")
            return replace(ctx, rule=ctx.rule + name)

        return run

    async def forward(self, ctx: RequestContext) -> aiohttp.ClientResponse | Denial:
        self.calls.append("upstream")
        return Denial(DenialKind.UPSTREAM_UNREACHABLE, "down")

    async def relay(
        self, ctx: RequestContext, response: aiohttp.ClientResponse, sink: ResponseSink
    ) -> Outcome:
        raise AssertionError("not used")

    def record(self, ctx: RequestContext, outcome: Outcome) -> None:
        self.calls.append("audit")
        self.audited.append((ctx, outcome))

    def chain(self, *stages: Any) -> Chain:
        return Chain(forward=self.forward, relay=self.relay, record=self.record, stages=stages)


def test_the_production_order_is_transport_parse_headers_authenticate_route_session_authorize_tasks() -> None:
    policy = TransportPolicy(origins=None, hosts=None)
    stages = decision_stages(policy=policy, sealer=SessionSealer.ephemeral(), session_max_age=None)
    assert [getattr(stage, "func", stage) for stage in stages] == [
        check_transport,
        parse,
        match_headers,
        authenticate,
        route,
        open_session,
        authorize,
        bind_tasks,
    ]


async def test_stages_run_in_order_then_upstream_then_audit() -> None:
    rec = Recorder()
    chain = rec.chain(rec.stage("a"), rec.stage("b"), rec.stage("c"))
    await chain.handle(context(), Sink())
    assert rec.calls == ["a", "b", "c", "upstream", "audit"]
    assert rec.audited[0][0].rule == "abc"  # audit sees the last context


async def test_a_denial_short_circuits_and_audit_still_runs() -> None:
    rec = Recorder()
    sink = Sink()
    chain = rec.chain(rec.stage("a"), rec.stage("b", deny=True), rec.stage("c"))
    outcome = await chain.handle(context(), sink)
    assert rec.calls == ["a", "b", "audit"]
    assert [d.reason for d in sink.denials] == ["b said no"]
    assert rec.audited == [(rec.audited[0][0], outcome)]
    assert outcome.status == "denied"


async def test_an_upstream_denial_is_answered_and_audited() -> None:
    rec = Recorder()
    sink = Sink()
    await rec.chain(rec.stage("a")).handle(context(), sink)
    assert [d.kind for d in sink.denials] == [DenialKind.UPSTREAM_UNREACHABLE]
    assert rec.calls[-1] == "audit"


async def test_audit_runs_when_a_stage_raises_and_the_error_propagates() -> None:
    rec = Recorder()
    chain = rec.chain(rec.stage("a"), rec.stage("b", boom=True), rec.stage("c"))
    with pytest.raises(RuntimeError):
        await chain.handle(context(), Sink())
    assert rec.calls == ["a", "b", "audit"]
    assert rec.audited[0][1].status == "error"
    assert rec.audited[0][1].http_status == 500
