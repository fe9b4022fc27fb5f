"""Keeping glibc from holding on to the memory a snapshot passed through.

A snapshot of a few MB passes through the process as several large strings (the file or gRPC
message, its decoded payload, copies). By default glibc serves the first from ``mmap`` and,
when it is freed, raises its mmap threshold to that size (and its trim threshold to twice
that, up to 32 and 64 MB): the next ones then come from a heap, and once freed they stay there
as a free top chunk below the raised trim threshold, which ``malloc_trim`` does not release in
a thread's arena. Measured: a data plane that applied a 9.6 MB snapshot kept ~8 MB more than
one that applied 94 KB. Fixing the mmap threshold (which also stops both from moving) makes
every allocation of at least ``MMAP_THRESHOLD`` bytes its own mapping, returned when freed.
The request path allocates nothing that large (bodies stream in chunks). Nothing is done where
glibc is absent.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging

logger = logging.getLogger(__name__)

MMAP_THRESHOLD = 1024 * 1024
_M_MMAP_THRESHOLD = -3
"""``mallopt`` parameter number (glibc ``malloc.h``)."""


def fix_mmap_threshold(threshold: int = MMAP_THRESHOLD) -> bool:
    """Fix glibc's mmap threshold for this process; whether it could (False off glibc)."""
    name = ctypes.util.find_library("c")
    if name is None:
        return False
    try:
        mallopt = ctypes.CDLL(name).mallopt
    except (OSError, AttributeError):
        return False  # not glibc (musl, macOS)
    return bool(mallopt(_M_MMAP_THRESHOLD, threshold))
