from __future__ import annotations

import pytest

from data_plane.pipeline.context import Denial, DenialKind, RequestContext
from data_plane.runtime.transport_policy import TransportPolicy
from data_plane.stages.transport import check_transport
from tests.data_plane.kit import context

POLICY = TransportPolicy.build(
    listen_host="127.0.0.1",
    public_base_url="https://dp.example.com",
    allowed_origins=None,
    allowed_hosts=None,
)


@pytest.mark.parametrize(
    ("headers", "kind"),
    [
        ({"Host": "127.0.0.1:8080"}, None),
        ({"Host": "dp.example.com", "Origin": "https://dp.example.com"}, None),
        ({"Host": "localhost:8080", "Origin": "http://localhost:5173"}, None),
        ({"Host": "evil.example"}, DenialKind.HOST_NOT_ALLOWED),
        ({}, DenialKind.HOST_NOT_ALLOWED),
        ({"Host": "127.0.0.1:8080", "Origin": "https://evil.example"}, DenialKind.ORIGIN_FORBIDDEN),
        ({"Host": "evil.example", "Origin": "https://evil.example"}, DenialKind.HOST_NOT_ALLOWED),
    ],
)
def test_host_then_origin_are_checked_against_the_allow_lists(
    headers: dict[str, str], kind: DenialKind | None
) -> None:
    ctx = context(headers=headers)
    result = check_transport(ctx, POLICY)
    if kind is None:
        assert result is ctx
    else:
        assert isinstance(result, Denial) and result.kind is kind


def test_with_no_allow_lists_everything_passes() -> None:
    ctx = context(headers={"Host": "anything", "Origin": "http://anything"})
    assert isinstance(check_transport(ctx, TransportPolicy(origins=None, hosts=None)), RequestContext)
