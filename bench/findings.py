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
1. **The data plane refuses any snapshot over ~126 KB (bug, `shared/snapshot/signing.py`).**
   `verify_snapshot` calls `joserfc.jws.deserialize_compact` with joserfc's default
   `JWSRegistry`, whose cap on a compact JWS is 129,536 bytes (128,000-byte payload). A snapshot
   of ~50 servers with injected headers or a few hundred keys is refused with
   `signature verification failed: ExceededSizeError` (column "unpatched DP" above). The
   config-scale rows were measured with the cap lifted inside the bench (`bench/jws_limit.py`).
   Fix: pass a `JWSRegistry` with `max_payload_length` sized for snapshots (and a matching limit
   on the control plane side).
2. **Audit ingest is the control plane's hot spot.** {measured} On PostgreSQL ingest tops out near the figure above. py-spy of the control plane
   during ingest: ~52% of its time is SQLAlchemy compiling the multi-row `INSERT ... VALUES (...),
   (...) ON CONFLICT DO NOTHING RETURNING` of `control_plane/audit/store.py` (a new statement of
   200 x 17 bind parameters per batch, never served from the compiled cache), ~18% psycopg
   re-parsing that one-off SQL text (`_query2pg_nocache`), ~30% waiting on the database. Fix: a
   fixed statement executed with a parameter list (SQLAlchemy "insertmanyvalues" caches it), or
   `COPY` into a staging table / `INSERT ... SELECT FROM unnest(...)`.
3. **`mcpgw data-plane` loads the control plane too.** `mcpgw/cli.py` imports `mcpgw.runners`
   and `mcpgw.dev`, which import `control_plane` (FastAPI, SQLAlchemy, Alembic, uvicorn, the MCP
   SDK). `python -c "import data_plane.main"` peaks at ~67 MB RSS, `import mcpgw.cli` at ~131 MB,
   so an idle data plane with a 10-server snapshot already sits near 135 MB, above the 80 MB goal
   before any config. Fix: import each plane lazily inside its subcommand. With 100,000 keys the
   remaining growth is the pydantic `Snapshot` model plus the compiled indexes plus the JWS text
   kept in `CompiledSnapshot.jws` (59 MB for the largest snapshot) and the copy in the store.
4. **Where the data plane's CPU goes (profile above).** About 70% is aiohttp itself (server
   protocol, client `ClientSession._request`, header handling), ~20% of it in `StreamWriter._write`
   / `_writelines`, i.e. socket writes: every answer goes out as a `StreamResponse` (`prepare()`
   sends the headers, then each body chunk, then the terminating chunk), so even a 100-byte JSON
   answer costs several `send()` calls. Buffering small JSON answers (Content-Length <= 64 KiB) into
   one `web.Response` would cut that. Our stages are cheap: `dataclasses.replace` on the frozen
   `RequestContext` (4 copies per request) is the largest item of our own (~5% self plus ~2% in
   the generated `__init__`); `uuid.uuid4()` for audit event ids ~1%.
5. **Propagation** = admin write + debounce (`MCPGW_PUSH_DEBOUNCE_SECONDS`, 50 ms) + compile +
   sign + push + verify and re-compile of the whole snapshot on every data plane (no per-section
   hashes yet). With 10 data planes the p99 is far above the p50 (table above); the tail is not
   profiled yet. Suspects: 11 Python processes plus the pollers on 2 cores, and the control
   plane's per-stream push. Measure with the control plane on its own cores before optimising.
6. **The bench shares 2 cores between everything**, so a gateway row also pays for the control
   plane's audit ingest running beside it (the CPU column of the JSON has every process). Rows
   compare as ratios on the same machine, not as capacity.
"""
