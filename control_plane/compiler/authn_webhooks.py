"""Authentication webhooks -> the snapshot's ``authn_webhooks`` (workspace slug -> entry).

Header values are decrypted with the master key and sealed to the group key; the "stable" twin
(used for the content key) carries digests instead, so an unchanged database yields the same
content key. Like the authorization webhook's (``compiler/access.py``).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping

from joserfc.jwk import OKPKey
from sqlmodel import Session, select

from control_plane.crypto import SecretBox, SecretBoxError
from control_plane.models import AuthnWebhook
from shared import sealing
from shared.snapshot import AuthnWebhookEntry, Sealed, Snapshot


class AuthnWebhookCompileError(Exception):
    """A webhook's headers cannot be decrypted."""


def attach(
    session: Session,
    *,
    stable: Snapshot,
    sealed: Snapshot,
    secrets: SecretBox,
    workspace_slugs: Mapping[str, str],
    group_key: Callable[[], OKPKey],
    digest: Callable[[str, str], str],
) -> tuple[Snapshot, Snapshot]:
    """``stable`` and ``sealed`` with their ``authn_webhooks`` filled."""
    plain: dict[str, AuthnWebhookEntry] = {}
    opened: dict[str, dict[str, str]] = {}
    for hook in session.exec(select(AuthnWebhook).order_by(AuthnWebhook.workspace_id)):
        slug = workspace_slugs.get(hook.workspace_id)
        if slug is None:
            continue
        plain[slug] = AuthnWebhookEntry(
            url=hook.url,
            timeout_seconds=hook.timeout_seconds,
            max_cache_seconds=hook.max_cache_seconds,
            failure_mode="unavailable" if hook.failure_mode == "unavailable" else "deny",
        )
        if hook.headers_encrypted:
            try:
                headers = json.loads(secrets.decrypt(hook.headers_encrypted))
            except (SecretBoxError, ValueError) as exc:
                raise AuthnWebhookCompileError(
                    f"headers of the authentication webhook of {slug!r} cannot be decrypted"
                ) from exc
            opened[slug] = {str(name): str(value) for name, value in headers.items()}
    if not plain:
        return stable, sealed
    key = group_key() if opened else None

    def entries(value_of: Callable[[str, str], str]) -> dict[str, AuthnWebhookEntry]:
        return {
            slug: entry.model_copy(
                update={
                    "headers": {
                        name: Sealed(sealed=value_of(name, value))
                        for name, value in sorted(opened.get(slug, {}).items())
                    }
                }
            )
            for slug, entry in plain.items()
        }

    stable_entries = entries(digest)
    sealed_entries = stable_entries if key is None else entries(lambda _name, value: sealing.seal(value, key))
    return (
        stable.model_copy(update={"authn_webhooks": stable_entries}),
        sealed.model_copy(update={"authn_webhooks": sealed_entries}),
    )
