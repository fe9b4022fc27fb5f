"""Fixtures for data-plane tests: test keys and real upstream MCP servers (subprocesses)."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import free_port
from tests.data_plane.kit import UPSTREAM_SECRET, KeyPair
from tests.e2e.processes import stop_process

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def keys() -> KeyPair:
    """Fresh signing and group keys for one test."""
    return KeyPair()


def _start_echo_server(*extra: str) -> Iterator[str]:
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.servers.echo_server", "--port", str(port), *extra],
        cwd=REPO,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    url = f"http://127.0.0.1:{port}/mcp"
    deadline = time.monotonic() + 20
    try:
        while True:
            if proc.poll() is not None:
                raise AssertionError(
                    f"echo server exited: {proc.stderr.read().decode() if proc.stderr else ''}"
                )
            try:
                httpx.get(url, timeout=1)
                break
            except httpx.TransportError:
                if time.monotonic() > deadline:
                    raise AssertionError("echo server did not start within 20s") from None
                time.sleep(0.05)  # bounded poll for a child process, not a test sleep
        yield url
    finally:
        stop_process(proc)
        if proc.stderr is not None:
            proc.stderr.close()


@pytest.fixture(scope="session")
def sse_upstream() -> Iterator[str]:
    """URL of an official-SDK MCP server answering with SSE; needs the injected X-Api-Key."""
    yield from _start_echo_server("--require-header", f"X-Api-Key={UPSTREAM_SECRET}")


@pytest.fixture(scope="session")
def json_upstream() -> Iterator[str]:
    """URL of an official-SDK MCP server answering with plain JSON; needs the injected X-Api-Key."""
    yield from _start_echo_server("--json-response", "--require-header", f"X-Api-Key={UPSTREAM_SECRET}")


@pytest.fixture(scope="session")
def resumable_upstream() -> Iterator[str]:
    """Like ``sse_upstream``, and it keeps every SSE event so streams resume with Last-Event-ID."""
    yield from _start_echo_server("--resumable", "--require-header", f"X-Api-Key={UPSTREAM_SECRET}")
