"""Findings from reading the figures and the profiles; numbers come from the run being reported."""

from __future__ import annotations

from typing import Any

from bench.targets import GATEWAY, point


def _per_request_us(p: dict[str, Any] | None, process: str) -> str:
    if p is None or not p["rps"] or process not in p["cpu_cores"]:
        return "?"
    return f"{p['cpu_cores'][process] / p['rps'] * 1e6:.0f}"


def findings(results: dict[str, Any]) -> str:
    """The findings section, with this run's per-request CPU costs filled in."""
    gw, naive = point(results, f"echo/{GATEWAY}", 64), point(results, "echo/naive", 64)
    dp_us, cp_us = _per_request_us(gw, "data-plane"), _per_request_us(gw, "control-plane")
    naive_us = _per_request_us(naive, "naive-proxy")
    measured = (
        f"At c=64 the data plane used {dp_us} us of CPU per request and the control plane "
        f"{cp_us} us per request (SQLite audit ingest) on the same cores; the naive proxy uses {naive_us} us."
    )
    return TEXT.replace("{measured}", measured)


TEXT = """
1. **Snapshot size (fixed).** joserfc's default cap on a compact JWS (~126 KB) used to make the
   data plane refuse any real-sized snapshot; `shared/snapshot/signing.py` now verifies with a
   registry sized for snapshots (256 MiB), so the "unpatched DP" column stays empty.
2. **Audit ingest (fixed).** {measured} Ingest into PostgreSQL is one `INSERT ... SELECT FROM
   unnest(...)` per batch (`control_plane/audit/store.py`): one fixed statement with one array
   parameter per column, instead of the multi-row `VALUES` statement recompiled per batch.
3. **Data-plane memory.** Held in memory, the largest snapshot cost ~490 MB over an idle data
   plane: a `Principal` and access `Caller` per key, an `Upstream` per server, compiled grants,
   the tool catalog, and what the allocator kept from the ~1 GB peak of parsing a 98 MB JWS. Now
   a snapshot of at least `MCPGW_DP_LARGE_SNAPSHOT_BYTES` (8 MiB) is verified and checked by a
   short-lived helper process that writes its keys, servers and grants to a read-only SQLite
   file (`data_plane/snapshot/build.py`, `tables.py`); the serving process compiles an entry
   when a request first needs it and keeps at most `MCPGW_DP_CACHE_ENTRIES` of each
   (`LazyIndex`), so memory follows the traffic, not the config (Kong keeps its data planes'
   config in LMDB for the same reason). What remains is the process itself: an idle data plane
   with a 10-server snapshot is ~78 MB RSS, of which ~36 MB are shared-library pages (uvloop,
   grpc, OpenSSL for joserfc) shared by every worker. Cost: a first request per key or server
   after each snapshot pays its compile (~0.1 ms per key, ~0.5 ms per server, measured
   in-process), and applying the largest snapshot takes longer (helper start + table write).
4. **Where the data plane's CPU goes.** Most of it is aiohttp itself (server protocol, the
   upstream client's `ClientSession._request`, header handling, socket writes); small JSON
   answers already leave in one write. Our own largest items are `dataclasses.replace` on the
   frozen `RequestContext` (several copies per request), the authorize stage's per-request
   `ServerView` (one dict probe per caller subject), and `uuid.uuid4()` for audit event ids.
5. **Propagation** = admin write + debounce (`MCPGW_PUSH_DEBOUNCE_SECONDS`, 50 ms) + compile +
   sign + push + verify and re-compile of the whole snapshot on every data plane (no per-section
   hashes yet). With 10 data planes the p99 is far above the p50 and varies between runs; the
   tail is not profiled yet (11 Python processes share 2 cores).
6. **The bench shares 2 cores between everything**, so a gateway row also pays for the control
   plane's audit ingest running beside it (the CPU column of the JSON has every process). Rows
   compare as ratios on the same machine, not as capacity.
"""
