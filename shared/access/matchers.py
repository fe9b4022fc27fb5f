"""Precompiled matchers for selections and claim conditions (built once per snapshot)."""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from shared.snapshot.access import Condition, Selection

_WILDCARDS = frozenset("*?[")


def _is_pattern(name: str) -> bool:
    return not _WILDCARDS.isdisjoint(name)


@dataclass(frozen=True, slots=True)
class _NameSet:
    """Exact names in a set (one hash lookup) plus wildcard patterns as one regex."""

    names: frozenset[str]
    pattern: re.Pattern[str] | None

    @classmethod
    def of(cls, entries: list[str]) -> _NameSet:
        patterns = [fnmatch.translate(e) for e in entries if _is_pattern(e)]
        return cls(
            names=frozenset(e for e in entries if not _is_pattern(e)),
            pattern=re.compile("|".join(patterns)) if patterns else None,
        )

    def __contains__(self, name: str) -> bool:
        return name in self.names or (self.pattern is not None and self.pattern.match(name) is not None)


@dataclass(frozen=True, slots=True)
class SelectionMatcher:
    """A compiled :class:`~shared.access.schema.Selection`."""

    include: _NameSet | None
    """``None``: every name."""
    exclude: _NameSet | None
    everything: bool
    """Covers every name (no include list, nothing excluded)."""
    nothing: bool = False
    """Covers no name at all."""

    @classmethod
    def of(cls, selection: Selection) -> SelectionMatcher:
        include = None if selection.include is None else _NameSet.of(selection.include)
        exclude = _NameSet.of(selection.exclude) if selection.exclude else None
        nothing = selection.include is not None and not selection.include
        return cls(
            include=include, exclude=exclude, everything=include is None and exclude is None, nothing=nothing
        )

    def covers(self, name: str) -> bool:
        if self.everything:
            return True
        if self.nothing:
            return False
        if self.include is not None and name not in self.include:
            return False
        return self.exclude is None or name not in self.exclude


NOTHING = SelectionMatcher(include=_NameSet(frozenset(), None), exclude=None, everything=False, nothing=True)
"""Covers no name: what a deny grant covers of a kind it does not name."""


def is_narrowed(selection: Selection) -> bool:
    """Whether a selection says anything (the default covers every name)."""
    return selection.include is not None or bool(selection.exclude)


def claim_value(claims: Mapping[str, Any], path: str) -> Any:
    """The claim at ``path``; a dotted path reaches into nested objects. ``None`` when absent."""
    value: Any = claims.get(path)
    if value is not None or "." not in path:
        return value
    value = claims
    for part in path.split("."):
        if not isinstance(value, Mapping):
            return None
        value = value.get(part)
    return value


@dataclass(frozen=True, slots=True)
class ConditionMatcher:
    """A compiled :class:`~shared.access.schema.Condition`."""

    claim: str
    op: str
    value: str
    values: frozenset[str]

    @classmethod
    def of(cls, condition: Condition) -> ConditionMatcher:
        raw = condition.value
        values = frozenset(raw) if isinstance(raw, list) else frozenset({raw})
        return cls(condition.claim, condition.op, raw if isinstance(raw, str) else "", values)

    def holds(self, claims: Mapping[str, Any]) -> bool:
        actual = claim_value(claims, self.claim)
        if self.op == "present":
            return actual is not None
        if self.op == "equals":
            return isinstance(actual, str) and actual == self.value
        if self.op == "contains":
            return isinstance(actual, list | tuple) and any(
                isinstance(item, str) and item in self.values for item in actual
            )
        # "in": the claim is one of the listed values
        return isinstance(actual, str) and actual in self.values

    def describe(self) -> str:
        shown = self.value or ", ".join(sorted(self.values))
        return f"{self.claim} {self.op} {shown}".rstrip()
