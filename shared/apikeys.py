"""Agent API keys: how a secret looks and how it is hashed for lookup.

Keys are high-entropy random strings, so a single SHA-256 is the right lookup hash (as for
GitHub or Stripe tokens): the control plane stores only the hash, snapshots index keys by it,
and the data plane hashes the presented bearer token once per request.
"""

from __future__ import annotations

import hashlib
import secrets

PREFIX = "mcpgw_"
MIN_SECRET_LENGTH = 24


def new_secret() -> str:
    """A fresh key secret (prefix + 43 url-safe characters, 256 bits)."""
    return PREFIX + secrets.token_urlsafe(32)


def hash_secret(secret: str) -> str:
    """The lookup hash of a key secret (hex SHA-256)."""
    return hashlib.sha256(secret.encode()).hexdigest()


def display_prefix(secret: str) -> str:
    """The first characters of a secret, safe to show in lists (never the whole secret)."""
    return secret[: len(PREFIX) + 4]
