"""Control-plane settings, read from ``MCPGW_*`` environment variables.

Built once by the entry point and passed to ``create_app(settings)``; nothing reads the
environment after that.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path


def _env(name: str, default: str) -> str:
    return os.environ.get(f"MCPGW_{name}", default)


@dataclass(frozen=True, slots=True)
class ControlPlaneSettings:
    """Everything the control plane needs to start."""

    state_dir: Path = field(default_factory=lambda: Path(_env("STATE_DIR", ".mcpgw")))
    database_url: str = ""
    """SQLAlchemy URL; defaults to SQLite in the state directory. ``postgresql://`` uses psycopg 3."""
    http_host: str = field(default_factory=lambda: _env("CP_HTTP_HOST", "127.0.0.1"))
    http_port: int = field(default_factory=lambda: int(_env("CP_HTTP_PORT", "8000")))
    grpc_host: str = field(default_factory=lambda: _env("CP_GRPC_HOST", "127.0.0.1"))
    grpc_port: int = field(default_factory=lambda: int(_env("CP_GRPC_PORT", "50051")))
    admin_token: str = field(default_factory=lambda: _env("ADMIN_TOKEN", ""))
    public_url: str = field(default_factory=lambda: _env("CP_PUBLIC_URL", ""))
    """The admin API's own URL, the audience of IdP tokens admins log in with; default from host and port."""
    master_key: str = field(default_factory=lambda: _env("MASTER_KEY", ""))
    master_key_previous: str = field(default_factory=lambda: _env("MASTER_KEY_PREVIOUS", ""))
    """Comma-separated earlier master keys, still accepted for decryption during a rotation."""
    """Base64url 32-byte key that encrypts secrets at rest; generated into the state dir when empty."""
    signing_key_file: Path | None = field(
        default_factory=lambda: Path(v) if (v := os.environ.get("MCPGW_SIGNING_KEY_FILE")) else None
    )
    """Ed25519 private JWK that signs snapshots; ``state_dir/signing-key.jwk`` when unset."""
    push_debounce_seconds: float = field(default_factory=lambda: float(_env("PUSH_DEBOUNCE_SECONDS", "0.05")))
    revision_poll_seconds: float = field(default_factory=lambda: float(_env("REVISION_POLL_SECONDS", "1.0")))
    discovery_timeout_seconds: float = field(
        default_factory=lambda: float(_env("DISCOVERY_TIMEOUT_SECONDS", "10"))
    )

    def __post_init__(self) -> None:
        if not self.database_url:
            url = _env("DATABASE_URL", "") or f"sqlite:///{self.state_dir / 'control-plane.db'}"
            object.__setattr__(self, "database_url", normalize_database_url(url))
        else:
            object.__setattr__(self, "database_url", normalize_database_url(self.database_url))
        if not self.public_url:
            object.__setattr__(self, "public_url", f"http://{self.http_host}:{self.http_port}")
        object.__setattr__(self, "public_url", self.public_url.rstrip("/"))

    @property
    def master_key_file(self) -> Path:
        """Where the embedded mode keeps its master key when ``MCPGW_MASTER_KEY`` is unset."""
        return self.state_dir / "master.key"

    @property
    def resolved_signing_key_file(self) -> Path:
        """Where the snapshot signing key lives."""
        return self.signing_key_file or self.state_dir / "signing-key.jwk"


def normalize_database_url(url: str) -> str:
    """Route plain ``postgresql://`` URLs to the psycopg 3 driver."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url
