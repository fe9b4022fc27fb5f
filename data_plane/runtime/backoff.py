"""Capped exponential backoff with jitter, for reconnect loops."""

from __future__ import annotations

import math
import random


class Backoff:
    """Delays of ``base * 2**n`` capped at ``cap``, each jittered to between half and all of it."""

    def __init__(self, *, base: float = 0.5, cap: float = 30.0, rng: random.Random | None = None) -> None:
        self._base = base
        self._cap = cap
        # Jitter only spreads reconnects out; it needs no cryptographic strength.
        self._rng = rng or random.Random()  # noqa: S311
        self._attempt = 0

    def next(self) -> float:
        """The next delay in seconds (grows until ``cap``)."""
        ceiling = min(self._cap, math.ldexp(self._base, min(self._attempt, 30)))
        self._attempt += 1
        return ceiling / 2 + self._rng.uniform(0, ceiling / 2)

    def reset(self) -> None:
        """Start again from ``base`` (after a connection that worked)."""
        self._attempt = 0
