"""upstream credentials, identity forwarding, group identity keys

Revision ID: 0002b
Revises: 0001
Create Date: 2026-11-28 10:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

revision: str = "0002b"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("server", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("auth", sa.JSON(), nullable=False, server_default=sa.text('\'{"type": "none"}\''))
        )
        batch_op.add_column(
            sa.Column(
                "auth_secret_encrypted", sqlmodel.sql.sqltypes.AutoString(), nullable=False, server_default=""
            )
        )
        batch_op.add_column(sa.Column("identity", sa.JSON(), nullable=False, server_default=sa.text("'{}'")))
    with op.batch_alter_table("dataplanegroup", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "identity_key_encrypted",
                sqlmodel.sql.sqltypes.AutoString(),
                nullable=False,
                server_default="",
            )
        )
        batch_op.add_column(
            sa.Column("identity_public_key", sa.JSON(), nullable=False, server_default=sa.text("'{}'"))
        )


def downgrade() -> None:
    with op.batch_alter_table("dataplanegroup", schema=None) as batch_op:
        batch_op.drop_column("identity_public_key")
        batch_op.drop_column("identity_key_encrypted")
    with op.batch_alter_table("server", schema=None) as batch_op:
        batch_op.drop_column("identity")
        batch_op.drop_column("auth_secret_encrypted")
        batch_op.drop_column("auth")
