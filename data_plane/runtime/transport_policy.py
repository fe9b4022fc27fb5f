"""Which ``Origin`` and ``Host`` values the MCP endpoint accepts (DNS-rebinding defence).

Compiled once from settings. Matching is by normalized origin (scheme, host, port with the
scheme's default port dropped) and by host name (with an optional port): an allow-list entry
``name`` or ``scheme://name`` accepts any port when it ends in ``:*``, else exactly its port.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

__all__ = ["LOOPBACK_NAMES", "WILDCARD_LISTEN", "TransportPolicy", "split_host"]

LOOPBACK_NAMES = ("localhost", "127.0.0.1", "::1")
WILDCARD_LISTEN = frozenset({"", "0.0.0.0", "::", "*"})
_DEFAULT_PORTS = {"http": "80", "https": "443"}


def split_host(value: str) -> tuple[str, str]:
    """``host[:port]`` (IPv6 in brackets) -> (lowercased host without brackets, port or "")."""
    value = value.strip().lower()
    if value.startswith("["):
        end = value.find("]")
        if end < 0:
            return value, ""
        rest = value[end + 1 :]
        return value[1:end], rest[1:] if rest.startswith(":") else ""
    host, sep, port = value.rpartition(":")
    if sep and port.isdigit() and ":" not in host:
        return host, port
    if sep and port == "*" and ":" not in host:
        return host, "*"
    return value, ""


def _origin_key(origin: str) -> tuple[str, str, str] | None:
    """(scheme, host, port) of an origin, the scheme's default port as ""; None when malformed."""
    try:
        parts = urlsplit(origin.strip())
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https") or not parts.netloc or parts.path not in ("", "/"):
        return None
    host, port = split_host(parts.netloc.rpartition("@")[2])
    if port == _DEFAULT_PORTS[scheme]:
        port = ""
    return scheme, host, port


def _port_matches(allowed: str, actual: str) -> bool:
    return allowed == "*" or allowed == actual


@dataclass(frozen=True, slots=True)
class TransportPolicy:
    """The compiled allow-lists; ``None`` means that header is not checked."""

    origins: tuple[tuple[str, str, str], ...] | None
    """(scheme, host, port or "*"), from the allow-list of origins."""
    hosts: tuple[tuple[str, str], ...] | None
    """(host, port or "*"), from the allow-list of hosts."""

    @classmethod
    def build(
        cls,
        *,
        listen_host: str,
        public_base_url: str,
        allowed_origins: tuple[str, ...] | None,
        allowed_hosts: tuple[str, ...] | None,
    ) -> TransportPolicy:
        """The policy for these settings (``None`` allow-lists take the documented defaults)."""
        public = _origin_key(public_base_url)
        if allowed_origins is None:
            defaults = [
                f"{scheme}://{_in_url(name)}:*" for scheme in ("http", "https") for name in LOOPBACK_NAMES
            ]
            if public is not None:
                defaults.append(public_base_url)
            allowed_origins = tuple(defaults)
        origins: tuple[tuple[str, str, str], ...] | None = None
        if "*" not in allowed_origins:
            origins = tuple(key for entry in allowed_origins if (key := _origin_key(entry)) is not None)
        if allowed_hosts is None:
            if listen_host.strip("[]") in WILDCARD_LISTEN:
                # Listening on every interface, the names clients use are unknown: unchecked
                # unless configured (MCPGW_DP_ALLOWED_HOSTS).
                return cls(origins=origins, hosts=None)
            names = {listen_host.strip("[]").lower(), *LOOPBACK_NAMES}
            if public is not None:
                names.add(public[1])
            return cls(origins=origins, hosts=tuple((name, "*") for name in sorted(names)))
        if "*" in allowed_hosts:
            return cls(origins=origins, hosts=None)
        hosts = []
        for entry in allowed_hosts:
            host, port = split_host(entry)
            hosts.append((host, port or "*"))
        return cls(origins=origins, hosts=tuple(hosts))

    def origin_allowed(self, origin: str) -> bool:
        """True when this ``Origin`` header value is on the allow-list."""
        if self.origins is None:
            return True
        key = _origin_key(origin)
        if key is None:
            return False
        scheme, host, port = key
        return any(
            scheme == a_scheme and host == a_host and _port_matches(a_port, port)
            for a_scheme, a_host, a_port in self.origins
        )

    def host_allowed(self, host_header: str | None) -> bool:
        """True when this ``Host`` header value names this data plane."""
        if self.hosts is None:
            return True
        if not host_header:
            return False
        host, port = split_host(host_header)
        return any(host == a_host and _port_matches(a_port, port) for a_host, a_port in self.hosts)


def _in_url(host: str) -> str:
    """IPv6 literals are written in brackets inside URLs."""
    return f"[{host}]" if ":" in host else host
