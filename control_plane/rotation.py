"""Master-key rotation: re-encrypt every stored secret under the current master key.

Rotation is three steps, each safe to interrupt:

1. make the new key current and keep the old one as *previous* (``--generate`` does this for
   the key files of the embedded mode; with ``MCPGW_MASTER_KEY`` set it by hand, old key in
   ``MCPGW_MASTER_KEY_PREVIOUS``, on every control-plane replica). Both keys now decrypt;
   new writes use the new key;
2. :func:`reencrypt_all` rewrites every secret still under an older key, in one transaction;
3. drop the previous key.

Secret plaintexts do not change, so no config revision is recorded and no snapshot is pushed.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from sqlmodel import select

from control_plane.crypto import SecretBox, new_master_key, write_key_file
from control_plane.db import Database
from control_plane.models import (
    AuthnWebhook,
    AuthzWebhook,
    DataPlaneGroup,
    IdentityProvider,
    OAuthAuthorization,
    Server,
    UserConnection,
)


def reencrypt_all(db: Database, box: SecretBox) -> int:
    """Re-encrypt every secret not yet under ``box``'s current key; return how many changed."""
    changed = 0
    with db.transaction() as session:
        for server in session.exec(select(Server)):
            for column in ("headers_encrypted", "auth_secret_encrypted", "env_encrypted"):
                value: str = getattr(server, column)
                if value and not box.is_current(value):
                    setattr(server, column, box.encrypt(box.decrypt(value)))
                    session.add(server)
                    changed += 1
        for group in session.exec(select(DataPlaneGroup).where(DataPlaneGroup.identity_key_encrypted != "")):
            if not box.is_current(group.identity_key_encrypted):
                group.identity_key_encrypted = box.encrypt(box.decrypt(group.identity_key_encrypted))
                session.add(group)
                changed += 1
        for provider in session.exec(select(IdentityProvider)):
            secret = provider.introspection_secret_encrypted
            if secret and not box.is_current(secret):
                provider.introspection_secret_encrypted = box.encrypt(box.decrypt(secret))
                session.add(provider)
                changed += 1
        hooks: list[AuthzWebhook | AuthnWebhook] = [
            *session.exec(select(AuthzWebhook).where(AuthzWebhook.headers_encrypted != "")),
            *session.exec(select(AuthnWebhook).where(AuthnWebhook.headers_encrypted != "")),
        ]
        for hook in hooks:
            if not box.is_current(hook.headers_encrypted):
                hook.headers_encrypted = box.encrypt(box.decrypt(hook.headers_encrypted))
                session.add(hook)
                changed += 1
        changed += _reencrypt_rows(box, session.exec(select(UserConnection)), _CONNECTION_COLUMNS)
        changed += _reencrypt_rows(box, session.exec(select(OAuthAuthorization)), ("verifier_encrypted",))
    return changed


_CONNECTION_COLUMNS = ("refresh_token_encrypted", "access_token_encrypted")


def _reencrypt_rows(box: SecretBox, rows: Iterable[object], columns: tuple[str, ...]) -> int:
    """Re-encrypt ``columns`` of ``rows`` that are not under the current key (rows are changed in place)."""
    changed = 0
    for row in rows:
        for column in columns:
            value: str = getattr(row, column)
            if value and not box.is_current(value):
                setattr(row, column, box.encrypt(box.decrypt(value)))
                changed += 1
    return changed


def generate_into_files(key_file: Path) -> None:
    """Step 1 for key files: the current key becomes previous, a new key becomes current."""
    previous_file = key_file.with_name(key_file.name + ".previous")
    current = key_file.read_text().strip()
    earlier = previous_file.read_text().split() if previous_file.exists() else []
    write_key_file(previous_file, "\n".join([*earlier, current]) + "\n")
    write_key_file(key_file, new_master_key())


def drop_previous_file(key_file: Path) -> None:
    """Step 3 for key files: forget the earlier keys."""
    key_file.with_name(key_file.name + ".previous").unlink(missing_ok=True)
