"""Composition: virtual servers that aggregate several upstream servers behind one endpoint."""

from shared.composition.naming import (
    MAX_NAME_LENGTH,
    MAX_PREFIX_LENGTH,
    SEPARATOR,
    default_prefix,
    exposed_name,
    is_plain_name,
    is_shortened,
    prefix_problem,
    rename_problem,
    split_exposed,
)

__all__ = [
    "MAX_NAME_LENGTH",
    "MAX_PREFIX_LENGTH",
    "SEPARATOR",
    "default_prefix",
    "exposed_name",
    "is_plain_name",
    "is_shortened",
    "prefix_problem",
    "rename_problem",
    "split_exposed",
]
