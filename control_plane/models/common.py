"""Column helpers shared by the models."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

SLUG_PATTERN = r"^[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?$"
"""Lower-case letters, digits and inner dashes, 1-64 characters: safe in a URL path segment."""


def new_id() -> str:
    """A new random primary key (UUID4 as text)."""
    return str(uuid.uuid4())


def utcnow() -> datetime:
    """The current time, timezone-aware UTC."""
    return datetime.now(UTC)
