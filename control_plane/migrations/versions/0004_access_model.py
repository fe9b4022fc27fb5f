"""access model: users, memberships, teams, grants, authorization webhooks, admin tokens

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-21 21:39:30.027367
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "app_user",
        sa.Column("email", sqlmodel.sql.sqltypes.AutoString(length=320), nullable=False),
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("org_role", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("disabled", sa.Boolean(), nullable=False),
        sa.Column("id", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("created_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("app_user", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_app_user_email"), ["email"], unique=True)

    op.create_table(
        "admin_token",
        sa.Column("id", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("user_id", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=128), nullable=False),
        sa.Column("token_hash", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("prefix", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("created_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("expires_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.Column("revoked_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.Column("last_used_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["app_user.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("admin_token", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_admin_token_token_hash"), ["token_hash"], unique=True)
        batch_op.create_index(batch_op.f("ix_admin_token_user_id"), ["user_id"], unique=False)

    op.create_table(
        "authz_webhook",
        sa.Column("workspace_id", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("url", sqlmodel.sql.sqltypes.AutoString(length=2000), nullable=False),
        sa.Column("timeout_seconds", sa.Float(), nullable=False),
        sa.Column("cache_seconds", sa.Float(), nullable=False),
        sa.Column("failure_mode", sqlmodel.sql.sqltypes.AutoString(length=8), nullable=False),
        sa.Column("headers_encrypted", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("updated_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspace.id"],
        ),
        sa.PrimaryKeyConstraint("workspace_id"),
    )
    op.create_table(
        "team",
        sa.Column("id", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("workspace_id", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("slug", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("claim_values", sa.JSON(), nullable=False),
        sa.Column("created_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspace.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("workspace_id", "slug"),
    )
    with op.batch_alter_table("team", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_team_workspace_id"), ["workspace_id"], unique=False)

    op.create_table(
        "workspace_member",
        sa.Column("workspace_id", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("user_id", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("role", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("created_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["app_user.id"],
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspace.id"],
        ),
        sa.PrimaryKeyConstraint("workspace_id", "user_id"),
    )
    with op.batch_alter_table("workspace_member", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_workspace_member_user_id"), ["user_id"], unique=False)

    op.create_table(
        "access_grant",
        sa.Column("id", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("workspace_id", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=128), nullable=False),
        sa.Column("server_id", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("subject_kind", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("subject_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("effect", sqlmodel.sql.sqltypes.AutoString(length=8), nullable=False),
        sa.Column("tools", sa.JSON(), nullable=False),
        sa.Column("annotations", sa.JSON(), nullable=False),
        sa.Column("prompts", sa.JSON(), nullable=False),
        sa.Column("resources", sa.JSON(), nullable=False),
        sa.Column("conditions", sa.JSON(), nullable=False),
        sa.Column("created_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["server_id"],
            ["server.id"],
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspace.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("workspace_id", "name"),
    )
    with op.batch_alter_table("access_grant", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_access_grant_server_id"), ["server_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_access_grant_subject_id"), ["subject_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_access_grant_workspace_id"), ["workspace_id"], unique=False)

    op.create_table(
        "team_member",
        sa.Column("team_id", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("user_id", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.ForeignKeyConstraint(
            ["team_id"],
            ["team.id"],
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["app_user.id"],
        ),
        sa.PrimaryKeyConstraint("team_id", "user_id"),
    )
    with op.batch_alter_table("team_member", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_team_member_user_id"), ["user_id"], unique=False)

    op.create_table(
        "user_identity",
        sa.Column("id", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("user_id", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("provider_id", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("subject", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
        sa.ForeignKeyConstraint(
            ["provider_id"],
            ["identityprovider.id"],
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["app_user.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("provider_id", "subject"),
    )
    with op.batch_alter_table("user_identity", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_user_identity_provider_id"), ["provider_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_user_identity_user_id"), ["user_id"], unique=False)

    with op.batch_alter_table("agentkey", schema=None) as batch_op:
        batch_op.add_column(sa.Column("owner_user_id", sqlmodel.sql.sqltypes.AutoString(), nullable=True))
        batch_op.create_index(batch_op.f("ix_agentkey_owner_user_id"), ["owner_user_id"], unique=False)
        batch_op.create_foreign_key("fk_agentkey_owner_user_id", "app_user", ["owner_user_id"], ["id"])

    with op.batch_alter_table("identityprovider", schema=None) as batch_op:
        batch_op.add_column(sa.Column("admin_login", sa.Boolean(), nullable=False, server_default=sa.false()))


def downgrade() -> None:
    with op.batch_alter_table("identityprovider", schema=None) as batch_op:
        batch_op.drop_column("admin_login")

    with op.batch_alter_table("agentkey", schema=None) as batch_op:
        batch_op.drop_constraint("fk_agentkey_owner_user_id", type_="foreignkey")
        batch_op.drop_index(batch_op.f("ix_agentkey_owner_user_id"))
        batch_op.drop_column("owner_user_id")

    with op.batch_alter_table("user_identity", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_user_identity_user_id"))
        batch_op.drop_index(batch_op.f("ix_user_identity_provider_id"))

    op.drop_table("user_identity")
    with op.batch_alter_table("team_member", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_team_member_user_id"))

    op.drop_table("team_member")
    with op.batch_alter_table("access_grant", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_access_grant_workspace_id"))
        batch_op.drop_index(batch_op.f("ix_access_grant_subject_id"))
        batch_op.drop_index(batch_op.f("ix_access_grant_server_id"))

    op.drop_table("access_grant")
    with op.batch_alter_table("workspace_member", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_workspace_member_user_id"))

    op.drop_table("workspace_member")
    with op.batch_alter_table("team", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_team_workspace_id"))

    op.drop_table("team")
    op.drop_table("authz_webhook")
    with op.batch_alter_table("admin_token", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_admin_token_user_id"))
        batch_op.drop_index(batch_op.f("ix_admin_token_token_hash"))

    op.drop_table("admin_token")
    with op.batch_alter_table("app_user", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_app_user_email"))

    op.drop_table("app_user")
