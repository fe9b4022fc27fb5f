"""What one run measures: durations, concurrency levels, config scales, trials."""

from __future__ import annotations

from dataclasses import dataclass

from bench.config_scale import Scale

LEVELS = (1, 16, 64)
TOOLS = ("echo", "big", "stream")
STATELESS_TARGETS = ("direct", "nginx", "naive", "gateway-narrow", "gateway-wide")
PAYLOAD_TARGETS = ("direct", "nginx", "naive", "gateway-narrow")
"""The 1 MiB and SSE payloads run against fewer targets (the key kind does not matter there)."""
SESSION_TARGETS = ("direct-sdk", "gateway-sdk")
SETUP_TARGETS = ("direct", "gateway", "direct-sdk", "gateway-sdk")


@dataclass(frozen=True, slots=True)
class Plan:
    """The knobs of a run; :func:`plan` builds the default and the quick one."""

    seconds: float
    quick: bool
    levels: tuple[int, ...]
    warmup: float
    scales: tuple[Scale, ...]
    propagation_dps: tuple[int, ...]
    trials: int
    audit_seconds: float
    audit_streams: int
    profile_seconds: float

    def targets_for(self, tool: str) -> tuple[str, ...]:
        """The stateless targets measured with ``tool``."""
        return STATELESS_TARGETS if tool == "echo" else PAYLOAD_TARGETS

    def expected_scenarios(self) -> list[str]:
        """Every scenario name a complete run reports (the smoke test checks them all)."""
        names = [f"{tool}/{t}" for tool in TOOLS for t in self.targets_for(tool)]
        names += [f"session/{t}" for t in SESSION_TARGETS]
        names += [f"init/{t}" for t in SETUP_TARGETS]
        return names


def plan(*, seconds: float, quick: bool) -> Plan:
    """The default plan, or the quick one (tiny durations and scales, one data plane)."""
    if quick:
        return Plan(
            seconds=seconds,
            quick=True,
            levels=(1, 16),
            warmup=0,
            scales=(Scale(servers=5, keys=20), Scale(servers=50, keys=300)),
            propagation_dps=(1,),
            trials=3,
            audit_seconds=1,
            audit_streams=2,
            profile_seconds=1,
        )
    return Plan(
        seconds=seconds,
        quick=False,
        levels=LEVELS,
        warmup=1,
        scales=(
            Scale(servers=10, keys=100),
            Scale(servers=1000, keys=10_000),
            Scale(servers=10_000, keys=100_000),
        ),
        propagation_dps=(1, 10),
        trials=20,
        audit_seconds=10,
        audit_streams=4,
        profile_seconds=10,
    )
