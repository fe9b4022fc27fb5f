"""The stdio pool alone: a command that cannot start is retried only after a growing backoff."""

from __future__ import annotations

from data_plane.runtime.backoff import Backoff
from data_plane.runtime.stdio.launch import StdioLaunch
from data_plane.runtime.stdio.pool import SpawnFailed, StdioPool
from shared.stdio_env import child_environment


class RecordingBackoff(Backoff):
    """A real backoff that remembers the delays it handed out."""

    def __init__(self) -> None:
        super().__init__(base=0.01, cap=0.04)
        self.delays: list[float] = []

    def next(self) -> float:
        delay = super().next()
        self.delays.append(delay)
        return delay


def _launch(command: str) -> StdioLaunch:
    return StdioLaunch(
        command=command,
        args=(),
        environment=child_environment({}),
        cwd=None,
        min_processes=0,
        max_processes=2,
        idle_timeout_seconds=60,
        fingerprint="f",
    )


async def test_a_command_that_cannot_start_fails_each_try_and_backs_off_more_each_time() -> None:
    backoff = RecordingBackoff()
    pool = StdioPool("missing", _launch("/nonexistent/mcp-server"), backoff=backoff)
    reasons = []
    for _ in range(3):
        try:
            await pool.shared()
        except SpawnFailed as exc:
            reasons.append(str(exc))
    await pool.close()
    assert len(reasons) == 3
    assert all("cannot be started" in reason for reason in reasons)
    ceilings = [0.01, 0.02, 0.04]
    assert len(backoff.delays) == 3
    assert all(
        ceiling / 2 <= delay <= ceiling for delay, ceiling in zip(backoff.delays, ceilings, strict=True)
    )
    assert pool.channels == []
