"""How a virtual server names the tools and prompts of its members.

An item ``name`` of the member with prefix ``p`` is exposed as ``p__name``. Prefixes are made of
``[a-z0-9-]`` (server slugs are), so the first ``__`` of an exposed name always ends the prefix,
and two members can never produce the same name. Clients limit tool names to 64 characters of
``[A-Za-z0-9_-]`` (the function-calling APIs behind them do), so a name that would be longer, or
holds any other character, is shortened deterministically: ``p__<head>-<8 hex>``, where the hex
digits are the start of SHA-256 over (prefix, original name), so different originals never share
an exposed name. A rename chosen by the admin replaces the generated name; renames may not
contain ``__``, so they never collide with a generated name either.
"""

from __future__ import annotations

import hashlib
import re

SEPARATOR = "__"
MAX_NAME_LENGTH = 64
"""What clients accept for a tool name (``^[a-zA-Z0-9_-]{1,64}$``)."""
MAX_PREFIX_LENGTH = 24
"""Leaves at least 38 characters of the original name before shortening."""
HASH_CHARS = 8

_PLAIN = re.compile(r"[A-Za-z0-9_-]+")
_PREFIX = re.compile(r"[a-z0-9](?:[a-z0-9-]*[a-z0-9])?")
_SHORTENED_TAIL = re.compile(r"-[0-9a-f]{8}")
_UNSAFE = re.compile(r"[^A-Za-z0-9_-]")


def _digest(*parts: str) -> str:
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()[:HASH_CHARS]


def default_prefix(slug: str) -> str:
    """A member's prefix when the admin gives none: its server slug, shortened when too long."""
    if len(slug) <= MAX_PREFIX_LENGTH:
        return slug
    head = slug[: MAX_PREFIX_LENGTH - HASH_CHARS - 1].rstrip("-")
    return f"{head}-{_digest(slug)}"


def is_plain_name(name: str) -> bool:
    """Whether ``name`` is usable as it is by every client (charset and length)."""
    return 0 < len(name) <= MAX_NAME_LENGTH and _PLAIN.fullmatch(name) is not None


def prefix_problem(prefix: str) -> str | None:
    """Why ``prefix`` cannot be a member prefix (``None`` when it can)."""
    if not 0 < len(prefix) <= MAX_PREFIX_LENGTH or _PREFIX.fullmatch(prefix) is None:
        return (
            f"prefix {prefix!r} must be 1 to {MAX_PREFIX_LENGTH} characters of a-z, 0-9 and '-', "
            "starting and ending with a letter or digit"
        )
    return None


def rename_problem(new_name: str) -> str | None:
    """Why ``new_name`` cannot be an admin's rename of a tool (``None`` when it can)."""
    if not is_plain_name(new_name):
        return (
            f"new name {new_name!r} must be 1 to {MAX_NAME_LENGTH} characters of A-Z, a-z, 0-9, '_' and '-'"
        )
    if SEPARATOR in new_name:
        return f"new name {new_name!r} must not contain {SEPARATOR!r} (reserved for member prefixes)"
    return None


def exposed_name(prefix: str, name: str) -> str:
    """The name a member's tool or prompt ``name`` has on the virtual server (renames aside)."""
    candidate = f"{prefix}{SEPARATOR}{name}"
    if is_plain_name(candidate) and not is_shortened(candidate):
        return candidate
    head_room = MAX_NAME_LENGTH - len(prefix) - len(SEPARATOR) - 1 - HASH_CHARS
    head = _UNSAFE.sub("_", name)[:head_room]
    return f"{prefix}{SEPARATOR}{head}-{_digest(prefix, name)}"


def is_shortened(exposed: str) -> bool:
    """Whether ``exposed`` has the shape of a shortened name (its original must be looked up)."""
    return _SHORTENED_TAIL.fullmatch(exposed[-(HASH_CHARS + 1) :]) is not None


def split_exposed(exposed: str) -> tuple[str, str] | None:
    """(prefix, rest) of a generated name; ``None`` when it has no prefix."""
    prefix, separator, rest = exposed.partition(SEPARATOR)
    if not separator or not prefix or not rest:
        return None
    return prefix, rest
