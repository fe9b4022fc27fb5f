from __future__ import annotations

import pytest

from data_plane.pipeline.context import Denial, DenialKind, RequestContext
from data_plane.stages.authenticate import authenticate
from data_plane.stages.authorize import RULE, authorize
from data_plane.stages.parse import parse
from tests.data_plane.kit import ELSEWHERE, NARROW, WIDE, KeyPair, bearer, compiled, context

LIST = b'{"jsonrpc":"2.0","id":1,"method":"tools/list"}'
CALL_ECHO = b'{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"echo","arguments":{}}}'
CALL_ADD = b'{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"add","arguments":{}}}'


def _authorize(keys: KeyPair, secret: str, body: bytes, slug: str = "py") -> RequestContext | Denial:
    ctx = parse(context(compiled(keys), body=body, slug=slug, headers=bearer(secret)))
    assert isinstance(ctx, RequestContext)
    ctx = authenticate(ctx)
    assert isinstance(ctx, RequestContext)
    return authorize(ctx)


@pytest.mark.parametrize(
    ("secret", "body", "allowed"),
    [
        (WIDE, LIST, True),
        (WIDE, CALL_ADD, True),
        (NARROW, LIST, True),
        (NARROW, CALL_ECHO, True),
        (NARROW, CALL_ADD, False),
        (ELSEWHERE, LIST, False),
    ],
)
def test_key_scope_decides_server_and_tool_access(
    keys: KeyPair, secret: str, body: bytes, allowed: bool
) -> None:
    result = _authorize(keys, secret, body)
    assert isinstance(result, RequestContext) is allowed


def test_key_without_the_server_is_refused_naming_key_and_server(keys: KeyPair) -> None:
    result = _authorize(keys, ELSEWHERE, LIST)
    assert isinstance(result, Denial)
    assert result.kind is DenialKind.SERVER_FORBIDDEN
    assert result.reason == "key 'elsewhere' has no access to server 'py'"
    assert result.rule == RULE


def test_refused_tool_names_tool_key_and_server(keys: KeyPair) -> None:
    result = _authorize(keys, NARROW, CALL_ADD)
    assert isinstance(result, Denial)
    assert result.kind is DenialKind.TOOL_FORBIDDEN
    assert "'add'" in result.reason and "'narrow'" in result.reason and "'py'" in result.reason


def test_tool_list_of_a_scoped_key_is_marked_for_filtering(keys: KeyPair) -> None:
    result = _authorize(keys, NARROW, LIST)
    assert isinstance(result, RequestContext)
    assert result.tool_filter == frozenset({"echo"})


def test_tool_list_of_an_unscoped_key_is_not_filtered(keys: KeyPair) -> None:
    result = _authorize(keys, WIDE, LIST)
    assert isinstance(result, RequestContext)
    assert result.tool_filter is None
