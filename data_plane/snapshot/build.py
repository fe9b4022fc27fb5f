"""Verify and compile a signed snapshot: in this process, or, for a large one, in a helper.

A snapshot of 10,000 servers and 100,000 keys is a ~100 MB JWS whose parse peaks near 1 GB and
leaves the allocator holding far more than the entries that stay alive. So a snapshot of at
least ``MCPGW_DP_LARGE_SNAPSHOT_BYTES`` is verified, checked (:func:`check_snapshot`, which
refuses exactly what an in-memory apply would) and written to SQLite tables by a short-lived
``python -m data_plane.snapshot.build`` process; the serving process then opens the tables and
compiles entries on first use (:func:`compile_tables`). The helper reads its request (keys as
JWKs, where the JWS and the tables go) on stdin and answers one JSON line on stdout.
"""

from __future__ import annotations

import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import orjson
from joserfc.jwk import OKPKey

from data_plane.runtime.compiled import CompiledSnapshot
from data_plane.snapshot.compile import check_snapshot, compile_snapshot, compile_tables
from data_plane.snapshot.tables import TableSource, write_tables
from shared import keyfiles
from shared.snapshot import Snapshot, SnapshotRejected, verify_snapshot

HELPER_TIMEOUT_SECONDS = 900.0
"""A 100 MB snapshot takes about 30 s on one core; anything far beyond is stuck."""


@dataclass(frozen=True, slots=True)
class Checks:
    """What a snapshot is verified and compiled against."""

    verify_key: OKPKey
    group_key: OKPKey | None
    group: str
    connect_timeout: float = 5.0
    allow_stdio: bool = False


def verify(jws: str, checks: Checks) -> Snapshot:
    """Verify signature, hash, schema and group."""
    snapshot = verify_snapshot(jws, checks.verify_key)
    if snapshot.group != checks.group:
        raise SnapshotRejected(
            f"snapshot is for group {snapshot.group!r}, this data plane is in {checks.group!r}"
        )
    return snapshot


def compile_in_memory(jws: str, checks: Checks) -> CompiledSnapshot:
    """Verify, then compile every index in this process."""
    return compile_snapshot(
        verify(jws, checks),
        checks.group_key,
        connect_timeout=checks.connect_timeout,
        allow_stdio=checks.allow_stdio,
    )


def compile_in_helper(jws: str, checks: Checks, out: Path, *, cache_entries: int) -> CompiledSnapshot:
    """Have a helper process verify ``jws`` and write its tables to ``out``; open them."""
    # The JWS goes through a file, not a pipe: this process need not hold a second copy of it.
    signed = out.with_suffix(".jws")
    request = {
        "out": str(out),
        "jws": str(signed),
        "verify_key": keyfiles.public_jwk(checks.verify_key),
        "group_key": checks.group_key.as_dict(private=True) if checks.group_key is not None else None,
        "group": checks.group,
        "connect_timeout": checks.connect_timeout,
        "allow_stdio": checks.allow_stdio,
    }
    try:
        with signed.open("w", encoding="utf-8") as fh:
            fh.write(jws)
        done = subprocess.run(
            [sys.executable, "-m", "data_plane.snapshot.build"],
            input=orjson.dumps(request),
            capture_output=True,
            timeout=HELPER_TIMEOUT_SECONDS,
            check=False,
        )
    except subprocess.TimeoutExpired:
        out.unlink(missing_ok=True)
        raise SnapshotRejected(
            f"compiling the snapshot took longer than {HELPER_TIMEOUT_SECONDS:.0f} s"
        ) from None
    finally:
        signed.unlink(missing_ok=True)
    try:
        answer = orjson.loads(done.stdout.splitlines()[-1]) if done.stdout.strip() else {}
    except orjson.JSONDecodeError:
        answer = {}
    if done.returncode != 0 or not answer.get("ok"):
        out.unlink(missing_ok=True)
        reason = answer.get("rejected") or (
            f"the snapshot compiler exited with {done.returncode}: "
            f"{done.stderr.decode(errors='replace').strip()[-300:]}"
        )
        raise SnapshotRejected(str(reason))
    return compile_tables(
        TableSource(out),
        checks.group_key,
        connect_timeout=checks.connect_timeout,
        cache_entries=cache_entries,
    )


def _helper() -> int:
    """The helper process: its request on stdin, one JSON answer on stdout."""
    request = orjson.loads(sys.stdin.buffer.read())
    group_key = request["group_key"]
    checks = Checks(
        verify_key=keyfiles.from_jwk(request["verify_key"]),
        group_key=keyfiles.from_jwk(group_key) if group_key is not None else None,
        group=request["group"],
        connect_timeout=request["connect_timeout"],
        allow_stdio=request["allow_stdio"],
    )
    try:
        snapshot = verify(Path(request["jws"]).read_text(encoding="utf-8"), checks)
        check_snapshot(
            snapshot, checks.group_key, connect_timeout=checks.connect_timeout, allow_stdio=checks.allow_stdio
        )
    except SnapshotRejected as exc:
        sys.stdout.buffer.write(orjson.dumps({"rejected": exc.reason}) + b"\n")
        return 2
    write_tables(snapshot, Path(request["out"]))
    sys.stdout.buffer.write(orjson.dumps({"ok": True}) + b"\n")
    return 0


if __name__ == "__main__":
    sys.exit(_helper())
