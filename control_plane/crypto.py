"""Secrets at rest: envelope-style encryption with the master key (JWE ``dir`` + A256GCM).

Every stored secret (upstream header values, later OAuth secrets) goes through
:class:`SecretBox`; the database never holds one in clear. The master key comes from
``MCPGW_MASTER_KEY`` (base64url, 32 bytes) or, in the embedded mode, a key file in the state
directory created on first start.
"""

from __future__ import annotations

import base64
import os
import secrets
from pathlib import Path

from joserfc import jwe
from joserfc.errors import JoseError
from joserfc.jwk import OctKey

_PROTECTED = {"alg": "dir", "enc": "A256GCM"}
_ALGORITHMS = ["dir", "A256GCM"]


class SecretBoxError(Exception):
    """A stored secret could not be decrypted (wrong master key or corrupted value)."""


class SecretBox:
    """Encrypts and decrypts text with the master key."""

    def __init__(self, master_key: bytes) -> None:
        if len(master_key) != 32:
            raise ValueError("the master key must be 32 bytes")
        self._key = OctKey.import_key(master_key)

    @classmethod
    def from_config(cls, master_key_b64: str, key_file: Path) -> SecretBox:
        """Use ``master_key_b64`` when given, else the key file (created when missing)."""
        if master_key_b64:
            return cls(_b64decode(master_key_b64))
        if not key_file.exists():
            key_file.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as fh:
                fh.write(base64.urlsafe_b64encode(secrets.token_bytes(32)).decode())
        return cls(_b64decode(key_file.read_text().strip()))

    def encrypt(self, plaintext: str) -> str:
        """Encrypt ``plaintext`` (compact JWE)."""
        return jwe.encrypt_compact(_PROTECTED, plaintext.encode(), self._key, algorithms=_ALGORITHMS)

    def decrypt(self, token: str) -> str:
        """Decrypt a value made by :meth:`encrypt`."""
        try:
            return (jwe.decrypt_compact(token, self._key, algorithms=_ALGORITHMS).plaintext or b"").decode()
        except (JoseError, ValueError) as exc:
            raise SecretBoxError(f"cannot decrypt stored secret: {type(exc).__name__}") from exc


def _b64decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
