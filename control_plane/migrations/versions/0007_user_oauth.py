"""per-user OAuth: user connections (tokens encrypted) and pending authorizations (hashed state)

Revision ID: 0007_user_oauth
Revises: 0006_virtual
Create Date: 2026-11-23 10:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

revision: str = "0007_user_oauth"
down_revision: str | None = "0006_virtual"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "oauth_authorization",
        sa.Column("state_hash", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("user_id", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("server_id", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("verifier_encrypted", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("redirect_uri", sqlmodel.sql.sqltypes.AutoString(length=2000), nullable=False),
        sa.Column("expires_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("created_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["server_id"], ["server.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["user_id"], ["app_user.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("state_hash"),
    )
    with op.batch_alter_table("oauth_authorization", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_oauth_authorization_server_id"), ["server_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_oauth_authorization_user_id"), ["user_id"], unique=False)

    op.create_table(
        "user_connection",
        sa.Column("id", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("user_id", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("server_id", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("scopes", sa.JSON(), nullable=False),
        sa.Column("refresh_token_encrypted", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("access_token_encrypted", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("access_expires_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.Column("last_error", sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
        sa.Column("created_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("refreshed_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.Column("updated_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["server_id"], ["server.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["user_id"], ["app_user.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("user_id", "server_id"),
    )
    with op.batch_alter_table("user_connection", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_user_connection_server_id"), ["server_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_user_connection_user_id"), ["user_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("user_connection", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_user_connection_user_id"))
        batch_op.drop_index(batch_op.f("ix_user_connection_server_id"))

    op.drop_table("user_connection")
    with op.batch_alter_table("oauth_authorization", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_oauth_authorization_user_id"))
        batch_op.drop_index(batch_op.f("ix_oauth_authorization_server_id"))

    op.drop_table("oauth_authorization")
