"""The issue's targets, checked against a run's results: met, or the measured gap."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

GATEWAY = "gateway-narrow"
"""The full request path: key auth, tool-level authorization, audit streaming on."""


@dataclass(frozen=True, slots=True)
class Verdict:
    """One target: what was measured, against which goal, and whether it was met."""

    target: str
    measured: str
    goal: str
    met: bool | None
    """``None`` when the run did not measure it."""

    @property
    def status(self) -> str:
        """``met``, ``NOT met`` or ``not measured``."""
        return "not measured" if self.met is None else "met" if self.met else "NOT met"


def point(results: dict[str, Any], scenario: str, concurrency: int) -> dict[str, Any] | None:
    """The measured point of ``scenario`` at ``concurrency``, if any."""
    for series in results.get("series", []):
        if series["scenario"] == scenario:
            for p in series["points"]:
                if p["concurrency"] == concurrency:
                    found: dict[str, Any] = p
                    return found
    return None


def _throughput(results: dict[str, Any], other: str, factor: float, label: str) -> Verdict:
    goal = (
        f">= {factor:g}x {label} req/s at c=64"
        if factor >= 1
        else f">= {factor:.0%} of {label} req/s at c=64"
    )
    gw, ref = point(results, f"echo/{GATEWAY}", 64), point(results, f"echo/{other}", 64)
    if gw is None or ref is None or not ref["rps"]:
        return Verdict(f"full path vs {label} throughput", "-", goal, None)
    ratio = gw["rps"] / ref["rps"]
    measured = f"{gw['rps']:.0f} vs {ref['rps']:.0f} req/s = {ratio:.3f}x"
    gap = "" if ratio >= factor else f" (gap: {factor - ratio:.3f}x of {label})"
    return Verdict(f"full path vs {label} throughput", measured + gap, goal, ratio >= factor)


def _latency(results: dict[str, Any]) -> Verdict:
    goal = "added p50 at c=1 <= nginx's added p50 + 0.5 ms"
    gw, ngx, direct = (point(results, f"echo/{n}", 1) for n in (GATEWAY, "nginx", "direct"))
    if gw is None or ngx is None or direct is None:
        return Verdict("added latency at c=1", "-", goal, None)
    added_gw, added_ngx = gw["p50_ms"] - direct["p50_ms"], ngx["p50_ms"] - direct["p50_ms"]
    excess = added_gw - added_ngx
    measured = f"gateway +{added_gw:.3f} ms, nginx +{added_ngx:.3f} ms: {excess:.3f} ms more"
    return Verdict("added latency at c=1 (p50)", measured, goal, excess <= 0.5)


def _largest(results: dict[str, Any]) -> dict[str, Any] | None:
    rows = results.get("config_scale") or []
    return max(rows, key=lambda r: r["servers"]) if rows else None


def _rss(results: dict[str, Any]) -> Verdict:
    goal = "< 80 MB with the 10,000-server snapshot"
    big = _largest(results)
    if big is None or "dp_rss_loaded_mb" not in big:
        return Verdict("data-plane RSS", "-", goal, None)
    measured = f"{big['dp_rss_loaded_mb']:.1f} MB with {big['scale']}"
    met = big["dp_rss_loaded_mb"] < 80 if big["servers"] >= 10_000 else None
    return Verdict(
        "data-plane RSS", measured + ("" if met is not None else " (not the 10,000-server scale)"), goal, met
    )


def _flat(results: dict[str, Any]) -> Verdict:
    goal = "p50 at c=1 with the largest snapshot within 10% of the smallest"
    rows = results.get("config_scale") or []
    if len(rows) < 2 or any("c1" not in r for r in rows):
        return Verdict("latency flat with snapshot size", "-", goal, None)
    small, big = min(rows, key=lambda r: r["servers"]), max(rows, key=lambda r: r["servers"])
    ratio = big["c1"]["p50_ms"] / small["c1"]["p50_ms"]
    measured = f"{small['c1']['p50_ms']:.3f} ms -> {big['c1']['p50_ms']:.3f} ms ({(ratio - 1) * 100:+.1f}%)"
    return Verdict("latency flat with snapshot size", measured, goal, ratio <= 1.10)


def _propagation(results: dict[str, Any]) -> Verdict:
    goal = "revocation p99 < 500 ms to 10 data planes"
    rows = [r for r in results.get("propagation") or [] if r["data_planes"] >= 10]
    if not rows:
        return Verdict("propagation", "-", goal, None)
    row = rows[0]
    measured = (
        f"p50 {row['revoke_p50_ms']:.1f} ms, p99 {row['revoke_p99_ms']:.1f} ms over {row['trials']} trials"
    )
    return Verdict("propagation to 10 data planes", measured, goal, row["revoke_p99_ms"] < 500)


def _audit(results: dict[str, Any]) -> Verdict:
    goal = ">= 20,000 events/s into PostgreSQL"
    row = results.get("audit_ingest")
    if not row:
        return Verdict("audit ingest", "-", goal, None)
    rate = row["events_per_s"]
    gap = "" if rate >= 20_000 else f" (gap: {20_000 - rate:.0f} events/s)"
    return Verdict("audit ingest", f"{rate:.0f} events/s{gap}", goal, rate >= 20_000)


CHECKS: tuple[Callable[[dict[str, Any]], Verdict], ...] = (
    lambda r: _throughput(r, "nginx", 0.40, "nginx"),
    lambda r: _throughput(r, "naive", 2.0, "naive aiohttp proxy"),
    _latency,
    _rss,
    _flat,
    _propagation,
    _audit,
)


def verdicts(results: dict[str, Any]) -> list[Verdict]:
    """Every target of the issue, evaluated on ``results``."""
    return [check(results) for check in CHECKS]
