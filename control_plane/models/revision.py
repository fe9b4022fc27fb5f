"""Config revisions: every write that changes what data planes enforce records one.

The newest revision id is the snapshot version. Distribution reacts to new revisions; writes
never call distribution directly.
"""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Field, SQLModel

from control_plane.models.common import utcnow


class ConfigRevision(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    reason: str = Field(default="", max_length=200)
    created_at: datetime = Field(default_factory=utcnow)
