"""Data-plane settings: one frozen dataclass, read from ``MCPGW_DP_*`` variables and CLI flags."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

SOFTWARE_VERSION = "0.1.0"


def _host_port(text: str, what: str) -> tuple[str, int]:
    host, sep, port = text.rpartition(":")
    if not sep or not port.isdigit():
        raise ValueError(f"{what} must be host:port, got {text!r}")
    return host or "127.0.0.1", int(port)


def _path(text: str | None) -> Path | None:
    return Path(text) if text else None


def _csv(text: str | None) -> tuple[str, ...] | None:
    """A comma-separated list; ``None`` (use the default) when unset or blank."""
    if text is None:
        return None
    items = tuple(item.strip() for item in text.split(",") if item.strip())
    return items or None


def _seconds(text: str | None, what: str) -> float | None:
    """Positive seconds; ``None`` (no limit) when unset, blank or 0."""
    if text is None or not text.strip():
        return None
    try:
        value = float(text)
    except ValueError:
        raise ValueError(f"{what} must be a number of seconds, got {text!r}") from None
    if value < 0:
        raise ValueError(f"{what} must not be negative, got {text!r}")
    return value or None


def _flag(text: str | None, what: str) -> bool:
    """A yes/no setting; unset or blank means no."""
    value = (text or "").strip().lower()
    if value in ("", "0", "false", "no", "off"):
        return False
    if value in ("1", "true", "yes", "on"):
        return True
    raise ValueError(f"{what} must be true or false, got {text!r}")


def _count(text: str | None, what: str, default: int, *, least: int = 0) -> int:
    """A whole number of at least ``least``; unset or blank means ``default``."""
    if text is None or not text.strip():
        return default
    if not text.strip().isdigit() or int(text) < least:
        raise ValueError(f"{what} must be a whole number of at least {least}, got {text!r}")
    return int(text)


def _workers(text: str | None) -> int:
    """A worker count from 1 to 64; unset means 1."""
    if text is None or not text.strip():
        return 1
    if not text.strip().isdigit() or not 1 <= int(text) <= 64:
        raise ValueError(f"MCPGW_DP_WORKERS must be a whole number from 1 to 64, got {text!r}")
    return int(text)


def _concurrency(text: str | None) -> int:
    if text is None or not text.strip():
        return 8
    if not text.strip().isdigit() or not 1 <= int(text) <= 1024:
        raise ValueError(
            f"MCPGW_DP_INTROSPECTION_CONCURRENCY must be a whole number from 1 to 1024, got {text!r}"
        )
    return int(text)


OVERRIDE_NAMES = (
    "listen",
    "admin_listen",
    "control_plane",
    "group",
    "verify_key",
    "group_key",
    "state_dir",
    "snapshot_file",
    "public_url",
    "allowed_origins",
    "allowed_hosts",
    "session_max_age",
    "workers",
    "allow_stdio",
    "large_snapshot_bytes",
    "cache_entries",
    "introspection_concurrency",
)
"""Settings that ``MCPGW_DP_<NAME>`` variables (and the matching ``mcpgw data-plane`` flags) set."""


@dataclass(frozen=True, slots=True)
class DataPlaneSettings:
    """Everything a data plane needs to start; build with :meth:`from_env` or directly in tests."""

    listen_host: str = "127.0.0.1"
    listen_port: int = 8080
    admin_host: str = "127.0.0.1"
    admin_port: int = 8081
    control_plane: str | None = "127.0.0.1:50051"
    """gRPC target of the control plane; ``None`` runs without one (air-gapped)."""
    group: str = "default"
    verify_key_file: Path | None = None
    """The control plane's Ed25519 public JWK; without it no snapshot can be verified."""
    group_key_file: Path | None = None
    """The group's X25519 private JWK, to unseal injected upstream headers."""
    state_dir: Path = Path(".mcpgw-dp")
    snapshot_file: Path | None = None
    """Air-gapped mode: boot from this signed snapshot file."""
    public_url: str | None = None
    """Base URL named in ``WWW-Authenticate``; defaults to ``http://{listen}``."""
    workers: int = 1
    """Worker processes sharing the MCP and admin ports (SO_REUSEPORT); each is a data plane of its own."""
    worker_index: int = 0
    """Which worker this process is (0 is the parent that starts the others)."""
    audit_buffer_size: int = 50_000
    audit_batch_size: int = 200
    audit_flush_ms: int = 200
    connect_timeout_seconds: float = 5.0
    allowed_origins: tuple[str, ...] | None = None
    """``Origin`` values accepted on the MCP port (``*``: any); ``None``: own public origin and loopback."""
    allowed_hosts: tuple[str, ...] | None = None
    """``Host`` values accepted (``*``: any); ``None``: the listen host, the public URL's host and
    loopback names, or any host when listening on every interface."""
    session_max_age_seconds: float | None = None
    """Oldest sealed session token accepted (seconds since issue); ``None``: no limit."""
    introspection_concurrency: int = 8
    """At most this many token introspection calls in flight per identity provider."""
    allow_stdio: bool = False
    """Run stdio servers (launch their commands); when off, a snapshot with one is refused (NACK)."""
    large_snapshot_bytes: int = 8 * 1024 * 1024
    """Snapshots at least this big are compiled by a helper process into tables on disk whose
    entries are compiled on first use (``snapshot/tables.py``); 0: every snapshot in memory."""
    cache_entries: int = 10_000
    """For such a snapshot: keys, servers and servers' grants kept compiled (each)."""

    @property
    def public_base_url(self) -> str:
        """The base URL clients reach this data plane at (no trailing slash)."""
        if self.public_url:
            return self.public_url.rstrip("/")
        return f"http://{self.listen_host}:{self.listen_port}"

    @property
    def node_id_file(self) -> Path:
        """Where the stable node id lives."""
        return self.state_dir / "node-id"

    @property
    def last_good_file(self) -> Path:
        """Where the last good signed snapshot (JWS, never unsealed) lives."""
        return self.state_dir / "last-good.jws"

    @property
    def tables_dir(self) -> Path:
        """Where this worker keeps a large snapshot's tables."""
        return self.state_dir / "tables" / f"w{self.worker_index}"

    @property
    def audit_spool_file(self) -> Path:
        """Where unacknowledged audit batches are spooled on shutdown (one file per worker)."""
        suffix = f"-w{self.worker_index}" if self.worker_index else ""
        return self.state_dir / f"audit-spool{suffix}.bin"

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, **overrides: str) -> DataPlaneSettings:
        """Settings from ``MCPGW_DP_*`` variables; ``overrides`` (CLI flags) win.

        Override names are :data:`OVERRIDE_NAMES`. With a snapshot file and no control plane named
        explicitly, the data plane runs air-gapped (no gRPC connection). An empty
        ``control_plane`` (or ``none``) also disables the connection.
        """
        source = os.environ if env is None else env
        names = OVERRIDE_NAMES
        unknown = set(overrides) - set(names)
        if unknown:
            raise TypeError(f"unknown data-plane settings: {sorted(unknown)}")
        values = {n: overrides.get(n, source.get(f"MCPGW_DP_{n.upper()}")) for n in names}
        listen_host, listen_port = _host_port(values["listen"] or "127.0.0.1:8080", "listen")
        admin_host, admin_port = _host_port(values["admin_listen"] or "127.0.0.1:8081", "admin_listen")
        control_plane = values["control_plane"]
        if control_plane is None:
            control_plane = None if values["snapshot_file"] else "127.0.0.1:50051"
        elif control_plane.strip().lower() in ("", "none", "off"):
            control_plane = None
        return cls(
            listen_host=listen_host,
            listen_port=listen_port,
            admin_host=admin_host,
            admin_port=admin_port,
            control_plane=control_plane,
            group=values["group"] or "default",
            verify_key_file=_path(values["verify_key"]),
            group_key_file=_path(values["group_key"]),
            state_dir=Path(values["state_dir"] or ".mcpgw-dp"),
            snapshot_file=_path(values["snapshot_file"]),
            public_url=values["public_url"] or None,
            allowed_origins=_csv(values["allowed_origins"]),
            allowed_hosts=_csv(values["allowed_hosts"]),
            session_max_age_seconds=_seconds(values["session_max_age"], "MCPGW_DP_SESSION_MAX_AGE"),
            workers=_workers(values["workers"]),
            allow_stdio=_flag(values["allow_stdio"], "MCPGW_DP_ALLOW_STDIO"),
            large_snapshot_bytes=_count(
                values["large_snapshot_bytes"], "MCPGW_DP_LARGE_SNAPSHOT_BYTES", 8 * 1024 * 1024
            ),
            cache_entries=_count(values["cache_entries"], "MCPGW_DP_CACHE_ENTRIES", 10_000, least=1),
            introspection_concurrency=_concurrency(values["introspection_concurrency"]),
        )
