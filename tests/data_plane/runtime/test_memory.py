"""The data plane fixes glibc's mmap threshold so a snapshot's large strings are unmapped when freed."""

from __future__ import annotations

import ctypes.util
import platform
import subprocess
import sys

import pytest

# A snapshot-sized string is freed (which raises glibc's dynamic thresholds), then another is
# built and freed in a worker thread, as the data plane's apply does; RSS is read afterwards.
SCRIPT = """
import sys, threading
from data_plane.runtime.memory import fix_mmap_threshold
if sys.argv[1] == "fixed":
    assert fix_mmap_threshold()
def rss_kb():
    return int(open("/proc/self/statm").read().split()[1]) * 4
first = "x" * 9_600_000
del first
def apply():
    text = "y" * 9_600_000
    global kept
    kept = [str(i) for i in range(20_000)]  # small objects allocated after it live on
    del text
worker = threading.Thread(target=apply)
worker.start()
worker.join()
print(rss_kb())
"""


def _rss_kb(mode: str) -> int:
    done = subprocess.run([sys.executable, "-c", SCRIPT, mode], capture_output=True, text=True, check=True)
    return int(done.stdout)


@pytest.mark.skipif(
    platform.system() != "Linux"
    or platform.libc_ver()[0] != "glibc"
    or ctypes.util.find_library("c") is None,
    reason="mallopt is glibc's",
)
def test_a_freed_snapshot_sized_string_goes_back_to_the_os_with_the_threshold_fixed() -> None:
    assert _rss_kb("default") - _rss_kb("fixed") > 5_000  # ~9.4 MB kept by default
