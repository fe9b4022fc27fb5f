from __future__ import annotations

import pytest

from data_plane.pipeline.context import Denial, DenialKind, RequestContext
from data_plane.stages.parse import parse
from tests.data_plane.kit import context


@pytest.mark.parametrize(
    ("body", "kind"),
    [
        (b"not json", DenialKind.PARSE_ERROR),
        (b"", DenialKind.PARSE_ERROR),
        (b'{"jsonrpc": "2.0", "id": 1', DenialKind.PARSE_ERROR),
        (b"[]", DenialKind.INVALID_REQUEST),
        (b'[{"jsonrpc": "2.0", "id": 1, "method": "ping"}]', DenialKind.INVALID_REQUEST),
        (b'{"hello": "world"}', DenialKind.INVALID_REQUEST),
        (b'"just a string"', DenialKind.INVALID_REQUEST),
        (b'{"jsonrpc": "1.0", "id": 1, "method": "ping"}', DenialKind.INVALID_REQUEST),
        (b'{"jsonrpc": "2.0", "id": 1, "method": 5}', DenialKind.INVALID_REQUEST),
        (b'{"jsonrpc": "2.0", "id": {"a": 1}, "method": "ping"}', DenialKind.INVALID_REQUEST),
        (b'{"jsonrpc": "2.0", "id": true, "method": "ping"}', DenialKind.INVALID_REQUEST),
        (b'{"jsonrpc": "2.0", "id": 1, "method": "ping", "params": 3}', DenialKind.INVALID_REQUEST),
        (b'{"jsonrpc": "2.0", "id": 1}', DenialKind.INVALID_REQUEST),
        (b'{"jsonrpc": "2.0", "id": 1, "result": {}, "error": {}}', DenialKind.INVALID_REQUEST),
    ],
)
def test_bad_bodies_are_refused_with_the_right_kind(body: bytes, kind: DenialKind) -> None:
    result = parse(context(body=body))
    assert isinstance(result, Denial)
    assert result.kind is kind


def test_batches_are_refused_as_not_supported() -> None:
    result = parse(context(body=b'[{"jsonrpc": "2.0", "id": 1, "method": "ping"}]'))
    assert isinstance(result, Denial)
    assert "batch" in result.reason


@pytest.mark.parametrize(
    ("body", "method", "rpc_id", "is_request", "tool"),
    [
        (b'{"jsonrpc":"2.0","id":1,"method":"tools/list"}', "tools/list", 1, True, ""),
        (
            b'{"jsonrpc":"2.0","id":"a","method":"tools/call","params":{"name":"echo"}}',
            "tools/call",
            "a",
            True,
            "echo",
        ),
        (b'{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":7}}', "tools/call", 2, True, ""),
        (
            b'{"jsonrpc":"2.0","method":"notifications/initialized"}',
            "notifications/initialized",
            None,
            False,
            "",
        ),
        (b'{"jsonrpc":"2.0","id":9,"result":{}}', "", 9, False, ""),
        (b'{"jsonrpc":"2.0","id":9,"error":{"code":1,"message":"x"}}', "", 9, False, ""),
    ],
)
def test_valid_messages_fill_the_context(
    body: bytes, method: str, rpc_id: object, is_request: bool, tool: str
) -> None:
    result = parse(context(body=body))
    assert isinstance(result, RequestContext)
    assert (result.rpc_method, result.rpc_id, result.is_request, result.tool) == (
        method,
        rpc_id,
        is_request,
        tool,
    )
    assert result.body is body  # forwarded unchanged, never re-serialized


@pytest.mark.parametrize("method", ["GET", "DELETE"])
def test_get_and_delete_carry_no_message_and_pass(method: str) -> None:
    ctx = context(method=method, body=b"")
    assert parse(ctx) is ctx
