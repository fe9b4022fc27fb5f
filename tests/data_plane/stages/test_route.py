from __future__ import annotations

from data_plane.pipeline.context import Denial, DenialKind, RequestContext
from data_plane.stages.route import route
from tests.data_plane.kit import KeyPair, compiled, context


def test_known_slug_routes_to_its_upstream(keys: KeyPair) -> None:
    result = route(context(compiled(keys, url="http://up.example/mcp")))
    assert isinstance(result, RequestContext)
    assert result.upstream is not None and result.upstream.url == "http://up.example/mcp"


def test_unknown_slug_is_not_found(keys: KeyPair) -> None:
    result = route(context(compiled(keys), slug="nope"))
    assert isinstance(result, Denial)
    assert result.kind is DenialKind.NOT_FOUND
    assert "nope" in result.reason
