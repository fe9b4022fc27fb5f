from __future__ import annotations

from dataclasses import replace

from multidict import CIMultiDict, CIMultiDictProxy

from data_plane.runtime.sessions import SessionClaims
from data_plane.stages.upstream import upstream_headers
from tests.data_plane.kit import KeyPair, compiled


def test_only_allow_listed_headers_and_injected_credentials_go_upstream(keys: KeyPair) -> None:
    upstream = compiled(keys, headers={"X-Api-Key": "s3cret"}).servers["py"]
    client = CIMultiDictProxy(
        CIMultiDict(
            {
                "Authorization": "Bearer client-key",
                "Cookie": "session=1",
                "Content-Type": "application/json",
                "Accept": "application/json, text/event-stream",
                "Mcp-Session-Id": "abc",
                "MCP-Protocol-Version": "2025-06-18",
                "Last-Event-ID": "7",
                "Mcp-Method": "tools/call",
                "Mcp-Name": "echo",
                "Mcp-Param-Region": "eu",
                "X-Forwarded-For": "1.2.3.4",
                "Host": "gateway",
            }
        )
    )
    sent = upstream_headers(client, upstream)
    assert "Authorization" not in sent and "Cookie" not in sent and "Host" not in sent
    assert "X-Forwarded-For" not in sent
    assert sent["X-Api-Key"] == "s3cret"
    for name in ("Content-Type", "Accept", "MCP-Protocol-Version", "Last-Event-ID", "Mcp-Method", "Mcp-Name"):
        assert sent[name] == client[name]
    assert sent["Mcp-Param-Region"] == "eu"
    assert "Mcp-Session-Id" not in sent  # the client's is a sealed token: never forwarded as is


def test_the_opened_upstream_session_id_goes_upstream_in_place_of_the_sealed_token(keys: KeyPair) -> None:
    upstream = compiled(keys).servers["py"]
    claims = SessionClaims("py", "upstream-sid-1", "k-wide", "2025-11-25", 0)
    client = CIMultiDictProxy(CIMultiDict({"Mcp-Session-Id": "sealed-token", "Last-Event-ID": "e-3"}))
    sent = upstream_headers(client, upstream, claims)
    assert sent.getall("Mcp-Session-Id") == ["upstream-sid-1"]
    assert sent["Last-Event-ID"] == "e-3"


def test_injected_header_replaces_a_client_header_of_the_same_name(keys: KeyPair) -> None:
    upstream = compiled(keys).servers["py"]
    upstream = replace(upstream, injected_headers=(("accept", "application/json"),))
    sent = upstream_headers(CIMultiDictProxy(CIMultiDict({"Accept": "text/event-stream"})), upstream)
    assert sent.getall("Accept") == ["application/json"]


def test_injected_header_values_never_appear_in_the_upstream_repr(keys: KeyPair) -> None:
    upstream = compiled(keys, headers={"X-Api-Key": "s3cret"}).servers["py"]
    assert "s3cret" not in repr(upstream)
