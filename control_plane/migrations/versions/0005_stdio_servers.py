"""stdio servers: command, args, env (encrypted), cwd and pool bounds on server

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-22 10:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("server", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "command", sqlmodel.sql.sqltypes.AutoString(length=2000), nullable=False, server_default=""
            )
        )
        batch_op.add_column(
            sa.Column("cwd", sqlmodel.sql.sqltypes.AutoString(length=2000), nullable=False, server_default="")
        )
        batch_op.add_column(sa.Column("min_processes", sa.Integer(), nullable=False, server_default="0"))
        batch_op.add_column(sa.Column("max_processes", sa.Integer(), nullable=False, server_default="4"))
        batch_op.add_column(
            sa.Column("idle_timeout_seconds", sa.Float(), nullable=False, server_default="300")
        )
        batch_op.add_column(sa.Column("args", sa.JSON(), nullable=False, server_default=sa.text("'[]'")))
        batch_op.add_column(sa.Column("env_names", sa.JSON(), nullable=False, server_default=sa.text("'[]'")))
        batch_op.add_column(
            sa.Column("env_encrypted", sqlmodel.sql.sqltypes.AutoString(), nullable=False, server_default="")
        )


def downgrade() -> None:
    with op.batch_alter_table("server", schema=None) as batch_op:
        for column in (
            "env_encrypted",
            "env_names",
            "args",
            "idle_timeout_seconds",
            "max_processes",
            "min_processes",
            "cwd",
            "command",
        ):
            batch_op.drop_column(column)
