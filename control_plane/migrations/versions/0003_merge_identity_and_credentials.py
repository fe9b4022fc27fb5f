"""merge the identity-provider and upstream-credential branches

Revision ID: 0003
Revises: 0002a, 0002b
Create Date: 2026-11-21
"""

from collections.abc import Sequence

revision: str = "0003"
down_revision: str | tuple[str, ...] | None = ("0002a", "0002b")
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Nothing to change: this revision only joins the two branches into one line."""


def downgrade() -> None:
    """Nothing to change."""
