"""Profile the data plane under load with py-spy: where does its CPU time go?

py-spy samples the running process (``--nonblocking``, so it barely perturbs it) while wrk
drives ``tools/call`` at concurrency 64; the collapsed stacks are folded into the top frames
by self time, the top frames of this repository by inclusive time, and a split by area.
"""

from __future__ import annotations

import re
import subprocess
from collections import Counter
from pathlib import Path
from typing import Any

from bench.loadgen import wrk
from bench.tools import py_spy

_FRAME = re.compile(r"^(?P<func>.*?) \((?P<file>.*?)(?::\d+)?\)$")
AREAS = (
    ("data_plane/", "data plane (our code)"),
    ("shared/", "shared (our code)"),
    ("aiohttp/", "aiohttp"),
    ("multidict/", "multidict"),
    ("yarl/", "yarl"),
    ("asyncio/", "asyncio"),
    ("grpc", "grpc (audit, config)"),
    ("google/protobuf", "protobuf"),
    ("uuid.py", "uuid"),
)


def _name(frame: str) -> tuple[str, str]:
    match = _FRAME.match(frame)
    if match is None:
        return frame, ""
    path = match["file"]
    for marker in ("site-packages/", "/work/main/", "lib/python3.11/"):
        if marker in path:
            path = path.split(marker, 1)[1]
    return f"{match['func']} ({path})", path


def _area(path: str) -> str:
    return next((label for marker, label in AREAS if marker in path), "other")


def fold(raw: str) -> dict[str, Any]:
    """Top frames by self and inclusive samples, and self samples by area, from collapsed stacks."""
    own: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    areas: Counter[str] = Counter()
    total = 0
    for line in raw.splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        total += count
        frames = [_name(f) for f in stack.split(";")]
        leaf, leaf_path = frames[-1]
        own[leaf] += count
        areas[_area(leaf_path)] += count
        for name in {n for n, path in frames if path.startswith(("data_plane/", "shared/"))}:
            inclusive[name] += count

    def share(counter: Counter[str], top: int) -> list[dict[str, Any]]:
        return [{"frame": k, "percent": round(100 * v / total, 1)} for k, v in counter.most_common(top)]

    return {
        "samples": total,
        "self_top": share(own, 20),
        "inclusive_ours": share(inclusive, 15),
        "self_by_area": share(areas, 12),
    }


def profile(pid: int, url: str, key: str, *, seconds: float, out: Path) -> dict[str, Any]:
    """Sample ``pid`` with py-spy while wrk loads ``url``; returns the folded profile."""
    binary = py_spy()
    if binary is None:
        return {"skipped": "py-spy is not installed (pip install py-spy)"}
    argv = [binary, "record", "-p", str(pid), "-d", str(max(1, round(seconds))), "-r", "200"]
    argv += ["--nonblocking", "-f", "raw", "-o", str(out)]
    with subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT) as spy:
        point = wrk(url, tool="echo", key=key, concurrency=64, seconds=seconds + 1)
        log = spy.communicate(timeout=seconds + 60)[0].decode(errors="replace")
    if spy.returncode != 0 or not out.exists():
        return {"skipped": f"py-spy failed ({spy.returncode}): {log[-400:]}"}
    folded = fold(out.read_text())
    folded["load_rps"] = point.rps
    return folded
