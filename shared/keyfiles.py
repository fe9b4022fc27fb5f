"""Key material on disk: JWK JSON files for the signing key and data-plane group keys.

Private key files are written with mode 0600. ``load_or_create`` is what the embedded mode uses
to keep keys stable across restarts in its state directory.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Literal

from joserfc.jwk import OKPKey

Curve = Literal["Ed25519", "X25519"]


def generate(curve: Curve) -> OKPKey:
    """A new OKP key on ``curve`` (Ed25519 for signing, X25519 for sealing)."""
    return OKPKey.generate_key(curve)


def public_jwk(key: OKPKey) -> dict[str, str]:
    """The public half of a key as a JWK dict."""
    return {k: str(v) for k, v in key.as_dict(private=False).items()}


def from_jwk(jwk: dict[str, str] | str) -> OKPKey:
    """Import a key from a JWK dict or JSON text."""
    data: dict[str, str] = json.loads(jwk) if isinstance(jwk, str) else jwk
    return OKPKey.import_key(dict(data))


def write_private(path: Path, key: OKPKey) -> None:
    """Write the private JWK to ``path`` with mode 0600."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        json.dump(key.as_dict(private=True), fh)


def read_key(path: Path) -> OKPKey:
    """Read a JWK file (private or public)."""
    return from_jwk(path.read_text())


def load_or_create(path: Path, curve: Curve) -> OKPKey:
    """Read the private key at ``path``, creating it first when missing."""
    if path.exists():
        return read_key(path)
    key = generate(curve)
    write_private(path, key)
    return key
