from __future__ import annotations

import orjson
import pytest

from data_plane.pipeline.context import Denial, DenialKind, RequestContext
from data_plane.stages.headers import match_headers
from data_plane.stages.parse import parse
from tests.data_plane.kit import context


def parsed(message: dict[str, object], headers: dict[str, str]) -> RequestContext:
    ctx = parse(context(body=orjson.dumps(message), headers=headers))
    assert isinstance(ctx, RequestContext)
    return ctx


CALL = {"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"name": "echo", "arguments": {}}}
READ = {"jsonrpc": "2.0", "id": 1, "method": "resources/read", "params": {"uri": "file:///ü.txt"}}
LIST = {"jsonrpc": "2.0", "id": 1, "method": "tools/list"}
ANSWER = {"jsonrpc": "2.0", "id": 1, "result": {}}


@pytest.mark.parametrize(
    ("message", "headers", "ok"),
    [
        (CALL, {}, True),
        (CALL, {"Mcp-Name": "anything"}, True),  # no Mcp-Method: a legacy-era request
        (CALL, {"Mcp-Method": "tools/call", "Mcp-Name": "echo"}, True),
        (CALL, {"Mcp-Method": "tools/call", "Mcp-Name": "=?base64?ZWNobw==?="}, True),
        (CALL, {"Mcp-Method": "tools/call", "Mcp-Name": "add"}, False),
        (CALL, {"Mcp-Method": "tools/call"}, False),
        (CALL, {"Mcp-Method": "tools/call", "Mcp-Name": "=?base64?not base64?="}, False),
        (CALL, {"Mcp-Method": "tools/list"}, False),
        (READ, {"Mcp-Method": "resources/read", "Mcp-Name": "=?base64?ZmlsZTovLy/DvC50eHQ=?="}, True),
        (READ, {"Mcp-Method": "resources/read", "Mcp-Name": "file:///u.txt"}, False),
        (LIST, {"Mcp-Method": "tools/list"}, True),
        (ANSWER, {"Mcp-Method": "tools/list"}, False),
    ],
)
def test_mcp_method_and_name_must_agree_with_the_body(
    message: dict[str, object], headers: dict[str, str], ok: bool
) -> None:
    ctx = parsed(message, headers)
    result = match_headers(ctx)
    if ok:
        assert result is ctx
    else:
        assert isinstance(result, Denial) and result.kind is DenialKind.HEADER_MISMATCH


def test_get_and_delete_carry_no_body_and_pass() -> None:
    ctx = context(method="GET", body=b"", headers={"Mcp-Method": "whatever"})
    assert match_headers(ctx) is ctx
