"""Sealing secrets to a data-plane group: compact JWE with ECDH-ES+A256KW / A256GCM on X25519.

The control plane seals with the group's public key; only data planes holding the group's
private key can open the value. Secrets therefore never travel or rest in clear outside the
control plane (the persisted snapshot on a data plane's disk holds only sealed values).
"""

from __future__ import annotations

from joserfc import jwe
from joserfc.errors import JoseError
from joserfc.jwk import OKPKey

_PROTECTED = {"alg": "ECDH-ES+A256KW", "enc": "A256GCM"}
_ALGORITHMS = ["ECDH-ES+A256KW", "A256GCM"]


class UnsealError(Exception):
    """A sealed value could not be opened with this group key."""


def seal(plaintext: str, group_public_key: OKPKey) -> str:
    """Seal ``plaintext`` to the group's public key."""
    return jwe.encrypt_compact(_PROTECTED, plaintext.encode(), group_public_key, algorithms=_ALGORITHMS)


def unseal(token: str, group_private_key: OKPKey) -> str:
    """Open a value sealed with :func:`seal`."""
    try:
        return (
            jwe.decrypt_compact(token, group_private_key, algorithms=_ALGORITHMS).plaintext or b""
        ).decode()
    except (JoseError, ValueError) as exc:
        raise UnsealError(f"cannot unseal: {type(exc).__name__}") from exc
