"""Secrets at rest: encryption with the master key (JWE ``dir`` + A256GCM), with key rotation.

Every stored secret (upstream header values, later OAuth secrets) goes through
:class:`SecretBox`; the database never holds one in clear. Each value names the key that
encrypted it (``kid``: a SHA-256 prefix of the key), so a box can hold the current master key
and earlier ones: it encrypts with the current key and decrypts with whichever key a value
names. ``mcpgw rotate-master-key`` re-encrypts every stored secret under the current key
(see ``control_plane/rotation.py``).

Keys come from ``MCPGW_MASTER_KEY`` (base64url, 32 bytes) and ``MCPGW_MASTER_KEY_PREVIOUS``
(comma-separated), or, in the embedded mode, from ``master.key`` and ``master.key.previous``
files in the state directory (the first created on first start).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import os
import secrets
from collections.abc import Sequence
from pathlib import Path

from joserfc import jwe
from joserfc.errors import JoseError
from joserfc.jwk import OctKey

_ALGORITHMS = ["dir", "A256GCM"]


class SecretBoxError(Exception):
    """A stored secret could not be decrypted (unknown key or corrupted value)."""


def key_id(key: bytes) -> str:
    """The id a value records for the master key that encrypted it."""
    return hashlib.sha256(key).hexdigest()[:16]


def new_master_key() -> str:
    """A fresh master key, base64url text."""
    return base64.urlsafe_b64encode(secrets.token_bytes(32)).decode()


class SecretBox:
    """Encrypts with the current master key; decrypts with any key it holds."""

    def __init__(self, master_key: bytes, previous: Sequence[bytes] = ()) -> None:
        for key in (master_key, *previous):
            if len(key) != 32:
                raise ValueError("a master key must be 32 bytes")
        self._kid = key_id(master_key)
        self._key = OctKey.import_key(master_key)
        self._keys = {key_id(k): OctKey.import_key(k) for k in (*previous, master_key)}

    @property
    def current_key_id(self) -> str:
        """The id of the key new values are encrypted with."""
        return self._kid

    @classmethod
    def from_config(cls, master_key_b64: str, key_file: Path, previous_b64: str = "") -> SecretBox:
        """Keys from configuration text when given, else from the key files (created when missing)."""
        previous_file = key_file.with_name(key_file.name + ".previous")
        if master_key_b64:
            previous = [p for p in previous_b64.split(",") if p.strip()]
            return cls(decode_key(master_key_b64), [decode_key(p) for p in previous])
        if not key_file.exists():
            key_file.parent.mkdir(parents=True, exist_ok=True)
            write_key_file(key_file, new_master_key(), exclusive=True)
        previous = previous_file.read_text().split() if previous_file.exists() else []
        return cls(decode_key(key_file.read_text().strip()), [decode_key(p) for p in previous])

    def encrypt(self, plaintext: str) -> str:
        """Encrypt ``plaintext`` (compact JWE naming the key)."""
        protected = {"alg": "dir", "enc": "A256GCM", "kid": self._kid}
        return jwe.encrypt_compact(protected, plaintext.encode(), self._key, algorithms=_ALGORITHMS)

    def decrypt(self, token: str) -> str:
        """Decrypt a value made by :meth:`encrypt` with this key or an earlier one."""
        try:
            kid = _kid_of(token)
        except (ValueError, binascii.Error) as exc:
            raise SecretBoxError(f"stored secret is not a JWE: {type(exc).__name__}") from exc
        candidates = [self._keys[kid]] if kid in self._keys else [] if kid else list(self._keys.values())
        if not candidates:
            raise SecretBoxError(f"stored secret was encrypted with an unknown master key (kid {kid})")
        for key in candidates:
            try:
                plaintext = jwe.decrypt_compact(token, key, algorithms=_ALGORITHMS).plaintext
            except (JoseError, ValueError):
                continue
            return (plaintext or b"").decode()
        raise SecretBoxError("cannot decrypt stored secret with any master key held")

    def is_current(self, token: str) -> bool:
        """Whether ``token`` is already encrypted with the current key."""
        try:
            return _kid_of(token) == self._kid
        except (ValueError, binascii.Error):
            return False


def _kid_of(token: str) -> str | None:
    """The ``kid`` of a compact JWE's protected header (the first segment)."""
    header = json.loads(decode_key(token.split(".", 1)[0]))
    if not isinstance(header, dict):
        raise ValueError("JWE protected header is not an object")
    kid = header.get("kid")
    return str(kid) if kid else None


def decode_key(text: str) -> bytes:
    """Base64url (padding optional) to key bytes."""
    text = text.strip()
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def write_key_file(path: Path, text: str, *, exclusive: bool = False) -> None:
    """Write key text with mode 0600."""
    flags = os.O_WRONLY | os.O_CREAT | (os.O_EXCL if exclusive else os.O_TRUNC)
    fd = os.open(path, flags, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(text)
