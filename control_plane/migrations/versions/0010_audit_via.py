"""audit via: the virtual server a request came through

Revision ID: 0010_audit_via
Revises: 0009_audit_identity
Create Date: 2026-11-22 02:30:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

revision: str = "0010_audit_via"
down_revision: str | None = "0009_audit_identity"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("audit_event", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("via", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False, server_default="")
        )


def downgrade() -> None:
    with op.batch_alter_table("audit_event", schema=None) as batch_op:
        batch_op.drop_column("via")
