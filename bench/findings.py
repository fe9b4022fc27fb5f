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
2. **Audit ingest (fixed).** {measured} On PostgreSQL a batch is `COPY`ed into a per-connection
   temporary table and moved with one `INSERT ... SELECT ... ON CONFLICT DO NOTHING`
   (`control_plane/audit/store.py`): psycopg formats COPY rows in C, where the earlier
   `unnest()` of one array parameter per column spent most of the control plane's time adapting
   lists in Python (py-spy: `ListDumper._dump_list` 21% of samples; ~16,500 -> ~24,000 events/s).
   What is left is PostgreSQL's own work (the control plane mostly waits on it). On SQLite it
   is one `executemany` on the driver connection; the remaining cost is SQLite's insert into a
   table with eight indexes and its WAL commit.
3. **Data-plane memory.** Held in memory, the largest snapshot cost ~490 MB over an idle data
   plane. Now a snapshot of at least `MCPGW_DP_LARGE_SNAPSHOT_BYTES` (8 MiB) is verified and
   checked by a short-lived helper process that writes its keys, servers and grants to a
   read-only SQLite file (`data_plane/snapshot/build.py`, `tables.py`); the serving process
   compiles an entry when a request first needs it and keeps at most `MCPGW_DP_CACHE_ENTRIES`
   of each (`LazyIndex`), so memory follows the traffic, not the config. The "ready" column is
   now within ~1 MB of an idle data plane with a 10-server snapshot; what remains is the process
   itself (~36 MB of shared-library pages: uvloop ~11 MB, aiohttp ~15 MB, grpc ~9 MB, OpenSSL
   for joserfc; plus pydantic for the snapshot schema). The "loaded" column is taken after the
   c=1 and c=16 runs of a data plane booted from a file with no control plane to ship audit
   to, so it also holds those runs' ~25,000 audit events: they wait serialized (~200 B each,
   `data_plane/audit/buffer.py`) instead of as protobuf objects (~1.3 KB each), which is what
   grew this column by ~40 MB before. The same applies to any data plane during a
   control-plane outage: a full 50,000-event buffer is ~10 MB. A snapshot of a few MB used to
   leave ~8 MB behind (the 1,000-server row's "ready" was above the 10,000-server one's): glibc
   raises its mmap threshold when a large block is freed, so the next copies of the snapshot
   text came from a thread's heap and stayed there as a free top chunk `malloc_trim` does not
   release. Data-plane processes now fix the threshold at 1 MiB (`data_plane/runtime/memory.py`);
   measured by hand, that row's "ready" went from 85.5 to 77.9 MB.
4. **Where the data plane's CPU goes.** About two thirds is aiohttp itself (server protocol,
   the upstream client's `ClientSession._request`, socket writes) and a tenth the event loop;
   small JSON answers already leave in one write. The request context is a frozen
   `msgspec.Struct`: a stage's copy costs ~0.13 us instead of ~4.7 us with `dataclasses.replace`
   (was ~6% of samples). Workers freeze their startup heap and raise the gen-0 GC threshold
   (p99 at c=64 ~35 ms instead of ~55-65 ms in paired runs). The arithmetic of the throughput
   targets on this machine: the naive proxy is one aiohttp server plus one aiohttp client per
   request and nothing else; the data plane does that plus its stages and audit, with the
   control plane's ingest and the upstream on the same two cores. Twice the naive proxy would
   need a data plane cheaper per request than aiohttp's own client and server, and 40% of nginx
   about a third less CPU per request than now; neither is reachable by trimming our ~20% share.
5. **Propagation** = admin write + compile + sign + push + verify and re-compile of the whole
   snapshot on every data plane (the first change is compiled at once; only changes within
   `MCPGW_PUSH_DEBOUNCE_SECONDS` of a compile wait for the window). The revoke call itself takes
   ~7 ms on a quiet control plane, but 13-111 ms during the trials: the pollers' 200 answers
   make every data plane stream audit that the control plane ingests while it handles the
   change, and 12 Python processes share 2 cores. With 10 data planes the p99 (the slowest of
   20 trials) varies between runs: 583, 301, 203 and 156 ms in the last four.
6. **The bench shares 2 cores between everything**, so a gateway row also pays for the control
   plane's audit ingest running beside it (the CPU column of the JSON has every process). Rows
   compare as ratios on the same machine, not as capacity; consecutive 5 s runs of the same
   row differ by up to ~15%.
"""
