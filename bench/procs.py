"""Child processes of a benchmark run: start, wait until ready, sample CPU and RSS, stop."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parents[1]
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def free_port() -> int:
    """A free TCP port on 127.0.0.1."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds the process has used so far (``/proc/PID/stat``)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    # After the command name: state is field 3, utime field 14, stime field 15 (1-based).
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def rss_mb(pid: int) -> float:
    """Resident set size in MiB (``VmRSS`` of ``/proc/PID/status``)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def children_of(pid: int) -> list[int]:
    """Direct children of ``pid`` (nginx workers under their master)."""
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        text = (task / "children").read_text().split()
        found.extend(int(p) for p in text)
    return found


@dataclass
class Child:
    """One child process with its log file; ``argv`` runs as given (``python`` is prefixed for modules)."""

    name: str
    argv: list[str]
    log: Path
    env: dict[str, str] = field(default_factory=dict)
    proc: subprocess.Popen[bytes] | None = None

    @classmethod
    def python(cls, name: str, args: list[str], log_dir: Path, env: dict[str, str] | None = None) -> Child:
        """A child running ``python <args>`` with this interpreter."""
        return cls(name, [sys.executable, *args], log_dir / f"{name}.log", env or {})

    @property
    def pid(self) -> int:
        """The process id (the child must have been started)."""
        if self.proc is None:
            raise RuntimeError(f"{self.name} is not started")
        return self.proc.pid

    def start(self) -> Child:
        """Start the process with the repository as working directory."""
        env = {**os.environ, "PYTHONUNBUFFERED": "1", "MCPGW_LOG_LEVEL": "WARNING", **self.env}
        self.log.parent.mkdir(parents=True, exist_ok=True)
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen(self.argv, cwd=REPO, env=env, stdout=out, stderr=subprocess.STDOUT)
        return self

    def stop(self) -> None:
        """Terminate (then kill) the process and wait for it."""
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.terminate()
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=10)

    def tail(self, lines: int = 40) -> str:
        """The end of the log, for error messages."""
        if not self.log.exists():
            return "(no log)"
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])

    def wait_until(self, check: Callable[[], bool], *, seconds: float = 30, what: str = "ready") -> float:
        """Poll ``check`` until true; returns the seconds waited. Raises with the log tail on failure."""
        start = time.monotonic()
        while time.monotonic() - start < seconds:
            if self.proc is not None and self.proc.poll() is not None:
                raise RuntimeError(
                    f"{self.name} exited ({self.proc.returncode}) before {what}:\n{self.tail()}"
                )
            if check():
                return time.monotonic() - start
            time.sleep(0.02)
        raise RuntimeError(f"{self.name} not {what} within {seconds}s:\n{self.tail()}")


def http_ok(url: str, *, any_status: bool = False) -> Callable[[], bool]:
    """A check that ``GET url`` answers 200 (or anything at all with ``any_status``)."""

    def check() -> bool:
        try:
            status = httpx.get(url, timeout=1).status_code
        except httpx.HTTPError:
            return False
        return any_status or status == 200

    return check


class Stack:
    """Every child of a run, stopped together in reverse order."""

    def __init__(self, log_dir: Path) -> None:
        self.log_dir = log_dir
        self.children: list[Child] = []

    def add(self, child: Child) -> Child:
        """Start ``child`` and keep it for :meth:`stop`."""
        self.children.append(child.start())
        return child

    def stop(self) -> None:
        """Stop every child, newest first."""
        for child in reversed(self.children):
            child.stop()
        self.children.clear()
