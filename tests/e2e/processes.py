"""Child processes for end-to-end tests: start, wait until ready, stop, and show logs on failure."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

REPO = Path(__file__).resolve().parents[2]


def stop_process(proc: subprocess.Popen[Any]) -> None:
    """Terminate ``proc`` (kill it after 10 s) and wait for it; nothing to do when it has ended."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)


@dataclass
class Child:
    """One child process with its log file."""

    name: str
    args: list[str]
    log: Path
    env: dict[str, str] = field(default_factory=dict)
    proc: subprocess.Popen[bytes] | None = None

    def start(self) -> Child:
        """Start the process (``python <args>``) with the repo as working directory."""
        env = {**os.environ, "PYTHONUNBUFFERED": "1", **self.env}
        self.log.parent.mkdir(parents=True, exist_ok=True)
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen(
                [sys.executable, *self.args], cwd=REPO, env=env, stdout=out, stderr=subprocess.STDOUT
            )
        return self

    def stop(self) -> None:
        """Terminate (then kill) the process and wait for it."""
        if self.proc is not None:
            stop_process(self.proc)

    def tail(self, lines: int = 60) -> str:
        """The end of the process log (for failure messages)."""
        if not self.log.exists():
            return "(no log)"
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])

    def wait_until(self, check: Callable[[], bool], *, seconds: float = 30, what: str = "ready") -> None:
        """Poll ``check`` until true; fail with the log tail if the process dies or time runs out."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if self.proc is not None and self.proc.poll() is not None:
                raise AssertionError(
                    f"{self.name} exited ({self.proc.returncode}) before {what}:\n{self.tail()}"
                )
            if check():
                return
            time.sleep(0.05)
        raise AssertionError(f"{self.name} not {what} within {seconds}s:\n{self.tail()}")


def http_ok(url: str, *, any_status: bool = False) -> Callable[[], bool]:
    """A check that ``GET url`` answers 200 (or anything at all with ``any_status``)."""

    def check() -> bool:
        try:
            status = httpx.get(url, timeout=1).status_code
        except httpx.HTTPError:
            return False
        return any_status or status == 200

    return check


def eventually(check: Callable[[], bool], *, seconds: float = 10, what: str = "condition") -> None:
    """Poll ``check`` with a bound (no bare sleeps in tests)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.05)
    raise AssertionError(f"{what} did not hold within {seconds}s")
