"""audit identity: user id, team ids and slugs, identity provider on audit events

Revision ID: 0009_audit_identity
Revises: 0008_authn_webhook
Create Date: 2026-11-30 11:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

revision: str = "0009_audit_identity"
down_revision: str | None = "0008_authn_webhook"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("audit_event", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "user_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False, server_default=""
            )
        )
        batch_op.add_column(
            sa.Column(
                "team_ids", sqlmodel.sql.sqltypes.AutoString(length=2000), nullable=False, server_default=""
            )
        )
        batch_op.add_column(
            sa.Column(
                "teams", sqlmodel.sql.sqltypes.AutoString(length=2000), nullable=False, server_default=""
            )
        )
        batch_op.add_column(
            sa.Column(
                "identity_provider",
                sqlmodel.sql.sqltypes.AutoString(length=128),
                nullable=False,
                server_default="",
            )
        )
        batch_op.create_index(batch_op.f("ix_audit_event_user_id"), ["user_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("audit_event", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_audit_event_user_id"))
        batch_op.drop_column("identity_provider")
        batch_op.drop_column("teams")
        batch_op.drop_column("team_ids")
        batch_op.drop_column("user_id")
