"""One stdio server process: launch it, exchange newline-delimited JSON-RPC, stop it.

The child runs in its own session (process group), so stopping it also stops whatever it
started (``npx`` runs node, ``uvx`` runs python). It gets exactly the launch's environment.
Its stderr goes to this module's logger at debug level, a bounded number of lines per window
(a chatty or hostile server cannot flood the log), and never into a response. Stopping
follows the MCP shutdown order: close stdin, wait, SIGTERM the group, wait, SIGKILL.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import time
from collections.abc import Callable, Mapping
from typing import Any

import orjson

from data_plane.runtime.stdio.launch import StdioLaunch

logger = logging.getLogger(__name__)

MAX_LINE_BYTES = 16 * 1024 * 1024
"""A longer stdout line is a protocol error: the process is stopped (as large as a request body)."""
STOP_GRACE_SECONDS = 2.0
STDERR_LINES_PER_WINDOW = 20
STDERR_WINDOW_SECONDS = 10.0
STDERR_LINE_CHARS = 500

Message = dict[str, Any]


class ProcessGone(Exception):
    """The process cannot take a message: it exited, or was never started."""


class StderrLog:
    """Logs a child's stderr lines at debug level, at most ``limit`` per ``window`` seconds."""

    def __init__(
        self,
        label: str,
        *,
        limit: int = STDERR_LINES_PER_WINDOW,
        window: float = STDERR_WINDOW_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._label = label
        self._limit = limit
        self._window = window
        self._clock = clock
        self._started = clock()
        self._count = 0
        self._dropped = 0

    def line(self, text: str) -> None:
        """Log one line (truncated) unless this window's budget is spent."""
        now = self._clock()
        if now - self._started >= self._window:
            if self._dropped:
                logger.debug("%s stderr: %d lines not logged (rate limit)", self._label, self._dropped)
            self._started, self._count, self._dropped = now, 0, 0
        if self._count >= self._limit:
            self._dropped += 1
            return
        self._count += 1
        logger.debug("%s stderr: %s", self._label, text[:STDERR_LINE_CHARS])


class StdioProcess:
    """A launched stdio server; ``on_message`` gets every JSON-RPC message it writes."""

    def __init__(
        self,
        launch: StdioLaunch,
        *,
        label: str,
        on_message: Callable[[Message], None],
        on_exit: Callable[[], None],
    ) -> None:
        self.launch = launch
        self.label = label
        self._on_message = on_message
        self._on_exit = on_exit
        self._proc: asyncio.subprocess.Process | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._write_lock = asyncio.Lock()
        self.exited = asyncio.Event()
        """Set once the process is gone (exited, crashed or stopped)."""
        self.stopping = False
        """True once :meth:`stop` was called: its exit is not a crash."""

    @property
    def pid(self) -> int:
        """The child's process id (0 before it started)."""
        return self._proc.pid if self._proc is not None else 0

    async def start(self) -> None:
        """Launch the command; ``OSError`` (or ``ValueError``) when it cannot be started."""
        launch = self.launch
        self._proc = await asyncio.create_subprocess_exec(
            launch.command,
            *launch.args,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            env=launch.environment,
            cwd=launch.cwd,
            start_new_session=True,
            limit=MAX_LINE_BYTES,
        )
        self.label = f"{self.label}[{self._proc.pid}]"
        self._tasks = [
            asyncio.create_task(self._read_stdout(), name=f"stdio-out {self.label}"),
            asyncio.create_task(self._read_stderr(), name=f"stdio-err {self.label}"),
        ]

    async def send(self, message: Message, headers: Mapping[str, str] | None = None) -> None:
        """Write one message to the child's stdin; :class:`ProcessGone` when it cannot.

        ``headers`` (the upstream HTTP headers of the request) have no meaning on stdio.
        """
        proc = self._proc
        if proc is None or proc.stdin is None or self.exited.is_set():
            raise ProcessGone(f"{self.label} is not running")
        line = orjson.dumps(message) + b"\n"
        async with self._write_lock:
            try:
                proc.stdin.write(line)
                await proc.stdin.drain()
            except (ConnectionError, RuntimeError) as exc:
                raise ProcessGone(f"{self.label} stopped reading: {type(exc).__name__}") from exc

    async def _read_stdout(self) -> None:
        proc = self._proc
        assert proc is not None
        assert proc.stdout is not None
        try:
            while line := await proc.stdout.readline():
                self._dispatch(line)
        except ValueError:
            logger.warning("%s wrote a line longer than %d bytes; stopping it", self.label, MAX_LINE_BYTES)
        except ConnectionError:
            pass  # the pipe broke: the process is gone
        if not self.stopping:
            await self._terminate()  # it crashed or broke the protocol: make sure the group is gone
        self._finish()

    def _dispatch(self, line: bytes) -> None:
        try:
            document = orjson.loads(line)
        except orjson.JSONDecodeError:
            if line.strip():
                logger.debug("%s wrote a line that is not JSON; ignored", self.label)
            return
        for message in document if isinstance(document, list) else [document]:
            if isinstance(message, dict):
                self._on_message(message)

    async def _read_stderr(self) -> None:
        proc = self._proc
        assert proc is not None
        assert proc.stderr is not None
        log = StderrLog(self.label)
        pending = b""
        with contextlib.suppress(ConnectionError):
            while chunk := await proc.stderr.read(65536):
                *lines, pending = (pending + chunk).split(b"\n")
                pending = pending[-STDERR_LINE_CHARS:]
                for line in lines:
                    log.line(line.decode("utf-8", "replace").rstrip())
        if pending:
            log.line(pending.decode("utf-8", "replace").rstrip())

    def _finish(self) -> None:
        """Report the end of the process, once."""
        if self.exited.is_set():
            return
        self.exited.set()
        if not self.stopping:
            returncode = self._proc.returncode if self._proc is not None else None
            logger.warning("%s exited unexpectedly (status %s)", self.label, returncode)
        self._on_exit()

    async def _terminate(self) -> None:
        proc = self._proc
        if proc is None:
            return
        if proc.stdin is not None and not proc.stdin.is_closing():
            proc.stdin.close()
        for sig in (None, signal.SIGTERM, signal.SIGKILL):
            if sig is not None:
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.killpg(proc.pid, sig)
            try:
                async with asyncio.timeout(STOP_GRACE_SECONDS):
                    await proc.wait()
                return
            except TimeoutError:
                continue
        logger.warning("%s survived SIGKILL; abandoning it", self.label)

    async def stop(self) -> None:
        """Stop the process (stdin closed, then SIGTERM, then SIGKILL) and wait for its readers."""
        self.stopping = True
        if self._proc is not None:
            await self._terminate()
            # The readers end at EOF once the group is gone; a grandchild holding a pipe open
            # must not keep them (and this call) waiting.
            _, pending = await asyncio.wait(self._tasks, timeout=STOP_GRACE_SECONDS)
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)
        self._finish()
