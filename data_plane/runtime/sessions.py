"""Sealed MCP session ids: what a legacy-era client holds instead of the upstream's own id.

When an upstream answers with ``Mcp-Session-Id``, the client gets a token sealed with
AES-256-GCM that carries the server slug, the upstream session id, the principal's key id,
the negotiated protocol version and the time it was issued. Any data plane of the group can
open it, because every one derives the same key from the group's X25519 private key (HKDF,
SHA-256, a fixed label): no sticky sessions and no shared session store.

Token layout (base64url, no padding): ``version (1 byte) | nonce (12) | ciphertext+tag``;
the version byte is also the associated data. The plaintext is a compact JSON array.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
from dataclasses import dataclass

import orjson
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from joserfc.jwk import OKPKey

__all__ = [
    "NONCE_BYTES",
    "SESSION_KEY_INFO",
    "TOKEN_VERSION",
    "SessionClaims",
    "SessionSealer",
    "decode_sealed",
    "derive_group_secret",
    "encode_sealed",
    "token_fingerprint",
]

SESSION_KEY_INFO = b"mcpgw session v1"
"""HKDF ``info`` label: a key derived for sessions is good for nothing else."""

TOKEN_VERSION = b"\x01"
"""First byte of a sealed token, and its AEAD associated data."""
NONCE_BYTES = 12
_MAX_TOKEN_CHARS = 4096
"""Longer tokens are refused before any decoding work."""


@dataclass(frozen=True, slots=True)
class SessionClaims:
    """What a sealed session token says, once opened."""

    server: str
    """The server slug the session was opened on."""
    upstream_session_id: str
    """The upstream's own ``Mcp-Session-Id``: forwarded upstream, never shown to the client."""
    key_id: str
    """The principal (agent key id) the session belongs to."""
    protocol_version: str
    """The protocol version negotiated at ``initialize`` (empty when unknown)."""
    issued_at: int
    """Unix seconds when the gateway sealed the token."""


def derive_group_secret(group_key: OKPKey, info: bytes) -> bytes:
    """A 32-byte key every data plane of the group derives alike (HKDF-SHA256 of the group's
    X25519 private key); ``info`` labels it, so keys for different uses never coincide."""
    private = group_key.private_key
    if private is None:
        raise ValueError("the group key file holds no private key")
    raw = private.private_bytes(
        serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption()
    )
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=info).derive(raw)


def token_fingerprint(token: str) -> str:
    """A short, non-replayable name for a token, for audit reasons and logs."""
    return hashlib.sha256(token.encode("utf-8", "surrogateescape")).hexdigest()[:12]


class SessionSealer:
    """Seals and opens session tokens with one AEAD key (built once, when the key loads)."""

    __slots__ = ("_aead",)

    def __init__(self, key: bytes) -> None:
        if len(key) != 32:
            raise ValueError("a session key is 32 bytes (AES-256-GCM)")
        self._aead = AESGCM(key)

    @classmethod
    def from_group_key(cls, group_key: OKPKey, *, info: bytes = SESSION_KEY_INFO) -> SessionSealer:
        """The sealer every data plane of the group derives from the group's private key.

        ``info`` labels the derived key: tokens sealed under one label never open under another.
        """
        return cls(derive_group_secret(group_key, info))

    @classmethod
    def ephemeral(cls) -> SessionSealer:
        """A per-process key: sessions then live only on this data plane (no group key set)."""
        return cls(AESGCM.generate_key(bit_length=256))

    def seal(self, claims: SessionClaims) -> str:
        """The token the client receives as its ``Mcp-Session-Id``."""
        plaintext = orjson.dumps(
            [
                claims.server,
                claims.upstream_session_id,
                claims.key_id,
                claims.protocol_version,
                claims.issued_at,
            ]
        )
        nonce = os.urandom(NONCE_BYTES)
        return encode_sealed(nonce, self._aead.encrypt(nonce, plaintext, TOKEN_VERSION))

    def open(self, token: str) -> SessionClaims | None:
        """The claims of a token this group sealed; ``None`` for anything else (never raises)."""
        parts = decode_sealed(token)
        if parts is None:
            return None
        try:
            plaintext = self._aead.decrypt(parts[0], parts[1], TOKEN_VERSION)
        except InvalidTag:
            return None
        return _claims(plaintext)


def encode_sealed(nonce: bytes, sealed: bytes) -> str:
    """A token's text: base64url without padding of ``version | nonce | ciphertext+tag``."""
    return base64.urlsafe_b64encode(TOKEN_VERSION + nonce + sealed).rstrip(b"=").decode("ascii")


def decode_sealed(token: str) -> tuple[bytes, bytes] | None:
    """(nonce, ciphertext+tag) of a token in that layout; ``None`` for anything else."""
    if not token or len(token) > _MAX_TOKEN_CHARS or not token.isascii():
        return None
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
    except (binascii.Error, ValueError):
        return None
    if len(raw) <= 1 + NONCE_BYTES or raw[:1] != TOKEN_VERSION:
        return None
    if base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii") != token:
        return None  # non-canonical spelling (stray padding bits): one thing, one token
    return raw[1 : 1 + NONCE_BYTES], raw[1 + NONCE_BYTES :]


def _claims(plaintext: bytes) -> SessionClaims | None:
    try:
        fields = orjson.loads(plaintext)
    except orjson.JSONDecodeError:
        return None
    if not isinstance(fields, list) or len(fields) != 5:
        return None
    server, upstream_id, key_id, version, issued_at = fields
    if not all(isinstance(v, str) for v in (server, upstream_id, key_id, version)):
        return None
    if type(issued_at) is not int:
        return None
    return SessionClaims(server, upstream_id, key_id, version, issued_at)
