"""``python -m bench``: run the benchmark suite, print the figures, write JSON and Markdown.

Environment: ``BENCH_DURATION`` (seconds per point), ``BENCH_QUICK=1`` (tiny smoke run),
``MCPGW_BENCH_PG_URL`` (PostgreSQL for the audit-ingest figure). Under ``CI=true`` a missing
tool is fatal; ``--missing skip`` records such sections as skipped instead.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from bench import machine
from bench.plan import plan
from bench.report import markdown, write_json
from bench.run import Run
from bench.targets import verdicts
from bench.tools import ToolMissing

REPO = Path(__file__).resolve().parents[1]
DEFAULT_DURATION = 5.0
QUICK_DURATION = 1.0


def _args(argv: list[str] | None) -> argparse.Namespace:
    quick = os.environ.get("BENCH_QUICK", "") not in ("", "0")
    duration = os.environ.get("BENCH_DURATION", "")
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--quick", action="store_true", default=quick, help="tiny durations and scales")
    parser.add_argument("--duration", type=float, default=float(duration) if duration else None)
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "results", help="JSON results directory")
    parser.add_argument("--docs", type=Path, default=REPO / "docs" / "benchmarks.md", help="Markdown page")
    parser.add_argument(
        "--missing",
        choices=("fail", "skip"),
        default="fail",
        help="a missing tool (wrk, nginx, PostgreSQL) fails the run, or skips what needs it",
    )
    parser.add_argument("--note", default="", help="a sentence for the page header (what was measured)")
    parser.add_argument(
        "--pg-url", default=os.environ.get("MCPGW_BENCH_PG_URL", "postgresql://postgres@127.0.0.1:5432/test")
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    """Run the suite; 0 on success, 2 when a required tool is missing."""
    args = _args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s bench: %(message)s", datefmt="%H:%M:%S")
    for chatty in ("httpx", "alembic", "control_plane", "data_plane", "shared"):
        logging.getLogger(chatty).setLevel(logging.WARNING)
    seconds = args.duration or (QUICK_DURATION if args.quick else DEFAULT_DURATION)
    the_plan = plan(seconds=seconds, quick=args.quick)
    if os.environ.get("CI", "").lower() == "true":
        args.missing = "fail"
    started = datetime.now(UTC)
    t0 = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="mcpgw-bench-") as tmp:
        try:
            results = Run(the_plan, Path(tmp), missing=args.missing, pg_url=args.pg_url).execute()
        except ToolMissing as exc:
            sys.stderr.write(f"bench: {exc}\n")
            return 2
    results = {
        "started_at": started.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "duration_s": seconds,
        "quick": args.quick,
        "note": args.note,
        "elapsed_s": round(time.monotonic() - t0, 1),
        "machine": machine.describe(),
        "expected_scenarios": the_plan.expected_scenarios(),
        **results,
    }
    path = write_json(results, args.out)
    args.docs.parent.mkdir(parents=True, exist_ok=True)
    args.docs.write_text(markdown(results))
    out = sys.stdout
    out.write(f"\nresults: {path} (and latest.json); page: {args.docs}\n\nTargets:\n")
    for v in verdicts(results):
        out.write(f"  [{v.status:>12}] {v.target}: {v.measured} (goal {v.goal})\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
