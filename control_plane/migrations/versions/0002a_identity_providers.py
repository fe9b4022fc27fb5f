"""identity providers

Revision ID: 0002a
Revises: 0001
Create Date: 2026-11-22 10:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

revision: str = "0002a"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "identityprovider",
        sa.Column("id", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("slug", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("workspace_id", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column("issuer", sqlmodel.sql.sqltypes.AutoString(length=2000), nullable=False),
        sa.Column("keycloak_server_url", sqlmodel.sql.sqltypes.AutoString(length=2000), nullable=False),
        sa.Column("keycloak_realm", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("audiences", sa.JSON(), nullable=False),
        sa.Column("jwks_uri", sqlmodel.sql.sqltypes.AutoString(length=2000), nullable=False),
        sa.Column("algorithms", sa.JSON(), nullable=False),
        sa.Column("required_claims", sa.JSON(), nullable=False),
        sa.Column("required_scopes", sa.JSON(), nullable=False),
        sa.Column("claim_mapping", sa.JSON(), nullable=False),
        sa.Column("introspection_endpoint", sqlmodel.sql.sqltypes.AutoString(length=2000), nullable=False),
        sa.Column("introspection_client_id", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("introspection_secret_encrypted", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("leeway_seconds", sa.Integer(), nullable=False),
        sa.Column("servers", sa.JSON(), nullable=False),
        sa.Column("created_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("updated_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["workspace_id"], ["workspace.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("identityprovider", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_identityprovider_issuer"), ["issuer"], unique=True)
        batch_op.create_index(batch_op.f("ix_identityprovider_slug"), ["slug"], unique=True)
        batch_op.create_index(batch_op.f("ix_identityprovider_workspace_id"), ["workspace_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("identityprovider", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_identityprovider_workspace_id"))
        batch_op.drop_index(batch_op.f("ix_identityprovider_slug"))
        batch_op.drop_index(batch_op.f("ix_identityprovider_issuer"))
    op.drop_table("identityprovider")
