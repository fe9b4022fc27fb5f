from __future__ import annotations

import pytest

from data_plane.runtime.transport_policy import TransportPolicy, split_host


def policy(
    listen: str = "127.0.0.1",
    public: str = "https://dp.example.com",
    origins: tuple[str, ...] | None = None,
    hosts: tuple[str, ...] | None = None,
) -> TransportPolicy:
    return TransportPolicy.build(
        listen_host=listen, public_base_url=public, allowed_origins=origins, allowed_hosts=hosts
    )


@pytest.mark.parametrize(
    ("origin", "allowed"),
    [
        ("https://dp.example.com", True),
        ("https://dp.example.com:443", True),
        ("HTTPS://DP.example.com", True),
        ("http://dp.example.com", False),
        ("https://dp.example.com:8443", False),
        ("http://localhost:6274", True),
        ("http://127.0.0.1", True),
        ("https://[::1]:8443", True),
        ("http://localhost.evil.example", False),
        ("http://evil.example", False),
        ("null", False),
        ("file://", False),
        ("https://dp.example.com/path", False),
    ],
)
def test_default_origins_are_the_public_origin_and_loopback(origin: str, allowed: bool) -> None:
    assert policy().origin_allowed(origin) is allowed


def test_configured_origins_replace_the_defaults_and_may_wildcard_the_port() -> None:
    configured = policy(origins=("https://app.example.org", "http://tool.example.org:*"))
    assert configured.origin_allowed("https://app.example.org")
    assert configured.origin_allowed("http://tool.example.org:3000")
    assert not configured.origin_allowed("http://localhost:6274")
    assert policy(origins=("*",)).origin_allowed("http://anything.example")


@pytest.mark.parametrize(
    ("host", "allowed"),
    [
        ("127.0.0.1:8080", True),
        ("localhost", True),
        ("[::1]:8080", True),
        ("dp.example.com", True),
        ("DP.EXAMPLE.COM:443", True),
        ("evil.example", False),
        ("127.0.0.1.nip.io", False),
        ("", False),
        (None, False),
    ],
)
def test_default_hosts_are_the_listen_host_the_public_host_and_loopback(
    host: str | None, allowed: bool
) -> None:
    assert policy().host_allowed(host) is allowed


def test_listening_on_every_interface_leaves_host_unchecked_unless_configured() -> None:
    assert policy(listen="0.0.0.0").host_allowed("anything.example")
    pinned = policy(listen="0.0.0.0", hosts=("mcp.example.com", "10.0.0.5:8080"))
    assert pinned.host_allowed("mcp.example.com:443")
    assert pinned.host_allowed("10.0.0.5:8080")
    assert not pinned.host_allowed("10.0.0.5:9090")
    assert not pinned.host_allowed("localhost")


@pytest.mark.parametrize(
    ("value", "split"),
    [
        ("example.com", ("example.com", "")),
        ("Example.com:8080", ("example.com", "8080")),
        ("[::1]:80", ("::1", "80")),
        ("[::1]", ("::1", "")),
        ("::1", ("::1", "")),
        ("h:*", ("h", "*")),
    ],
)
def test_split_host(value: str, split: tuple[str, str]) -> None:
    assert split_host(value) == split
