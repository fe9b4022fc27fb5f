"""Fixtures for data-plane tests: test keys and real upstream MCP servers (subprocesses)."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
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


@contextmanager
def echo_server(*extra: str) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """Run the echo server with ``extra`` options; its URL (``/sse`` with ``--sse``) and process."""
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.servers.echo_server", "--port", str(port), *extra],
        cwd=REPO,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    url = f"http://127.0.0.1:{port}/sse" if "--sse" in extra else f"http://127.0.0.1:{port}/mcp"
    # An event stream never ends: probe the message path of an SSE server instead (405 to GET).
    probe = f"http://127.0.0.1:{port}/messages/" if "--sse" in extra else url
    deadline = time.monotonic() + 20
    try:
        while True:
            if proc.poll() is not None:
                raise AssertionError(
                    f"echo server exited: {proc.stderr.read().decode() if proc.stderr else ''}"
                )
            try:
                httpx.get(probe, timeout=1)
                break
            except httpx.TransportError:
                if time.monotonic() > deadline:
                    raise AssertionError("echo server did not start within 20s") from None
                time.sleep(0.05)  # bounded poll for a child process, not a test sleep
        yield url, proc
    finally:
        stop_process(proc)
        if proc.stderr is not None:
            proc.stderr.close()


def start_echo_server(*extra: str) -> Iterator[str]:
    """Run the echo server with ``extra`` options for a fixture; yields its URL."""
    with echo_server(*extra) as (url, _):
        yield url


@pytest.fixture(scope="session")
def sse_upstream() -> Iterator[str]:
    """URL of an official-SDK MCP server answering with SSE; needs the injected X-Api-Key."""
    yield from start_echo_server("--require-header", f"X-Api-Key={UPSTREAM_SECRET}")


@pytest.fixture(scope="session")
def json_upstream() -> Iterator[str]:
    """URL of an official-SDK MCP server answering with plain JSON; needs the injected X-Api-Key."""
    yield from start_echo_server("--json-response", "--require-header", f"X-Api-Key={UPSTREAM_SECRET}")


@pytest.fixture(scope="session")
def resumable_upstream() -> Iterator[str]:
    """Like ``sse_upstream``, and it keeps every SSE event so streams resume with Last-Event-ID."""
    yield from start_echo_server("--resumable", "--require-header", f"X-Api-Key={UPSTREAM_SECRET}")


@pytest.fixture(scope="session")
def legacy_sse_upstream() -> Iterator[str]:
    """The SSE URL of an official-SDK server on the legacy HTTP+SSE transport; needs X-Api-Key."""
    yield from start_echo_server("--sse", "--require-header", f"X-Api-Key={UPSTREAM_SECRET}")
