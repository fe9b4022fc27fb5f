"""Domain errors raised by repository and service functions; the API maps them to HTTP."""

from __future__ import annotations


class DomainError(Exception):
    """A request the registry refuses; ``reason`` is safe to show to the caller."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class NotFound(DomainError):
    """The named workspace, server, key or group does not exist."""


class Conflict(DomainError):
    """The write clashes with what exists (duplicate name, still-referenced row)."""


class Invalid(DomainError):
    """The request is well-formed but names things that cannot be used together."""
