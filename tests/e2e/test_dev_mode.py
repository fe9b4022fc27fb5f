"""End to end: ``mcpgw dev`` (what ``make run`` starts) and ``mcpgw apply``, as a user runs them."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
import yaml

from tests.conftest import free_port
from tests.e2e.gateway import UPSTREAM_SECRET, Gateway
from tests.e2e.processes import REPO, Child

pytestmark = pytest.mark.e2e


def printed_client_config(log: str) -> dict[str, dict[str, dict[str, object]]]:
    """The ready-to-paste client config from the banner ``mcpgw dev`` prints."""
    block = log.split("to reach the demo server:", 1)[1].split("Press Ctrl-C", 1)[0]
    config: dict[str, dict[str, dict[str, object]]] = json.loads(block)
    return config


async def test_dev_mode_serves_the_demo_and_the_seed_and_apply_is_idempotent(tmp_path: Path) -> None:
    upstream = Gateway(tmp=tmp_path, database_url="unused")
    upstream.start_upstream()
    seed = tmp_path / "gateway.yaml"
    seed.write_text(
        yaml.safe_dump(
            {
                "workspaces": [{"slug": "team"}],
                "servers": [
                    {
                        "slug": "py",
                        "workspace": "team",
                        "url": upstream.upstream_url,
                        "headers": {"X-Api-Key": UPSTREAM_SECRET},
                    }
                ],
                "keys": [
                    {
                        "name": "narrow",
                        "workspace": "team",
                        "secret": "mcpgw_dev_narrow_0123456789abcdef",
                        "tools": {"py": ["echo"]},
                        "expires_at": "2999-01-01T00:00:00Z",
                    }
                ],
            }
        )
    )
    cp_http, dp_port = free_port(), free_port()
    env = {
        "MCPGW_CP_HTTP_PORT": str(cp_http),
        "MCPGW_CP_GRPC_PORT": str(free_port()),
        "MCPGW_DP_LISTEN": f"127.0.0.1:{dp_port}",
        "MCPGW_DP_ADMIN_LISTEN": f"127.0.0.1:{free_port()}",
        "MCPGW_ADMIN_TOKEN": "",
    }
    state = tmp_path / "state"
    args = [
        "-m",
        "mcpgw.cli",
        "dev",
        "--state-dir",
        str(state),
        "--seed",
        str(seed),
        "--demo-port",
        str(free_port()),
    ]
    dev = Child("dev", args, tmp_path / "dev.log", env).start()
    try:
        dev.wait_until(lambda: "Press Ctrl-C" in dev.log.read_text(), seconds=60, what="serving")
        log = dev.log.read_text()
        assert "server py: created" in log
        assert "admin token (shown once" in log

        demo = printed_client_config(log)["mcpServers"]["demo"]
        assert demo["url"] == f"http://127.0.0.1:{dp_port}/demo/mcp"
        key = str(demo["headers"]["Authorization"]).removeprefix("Bearer ")  # type: ignore[index]
        upstream.dp_port = dp_port
        async with upstream.mcp_client("demo", key) as client:
            assert (await client.call_tool("add", {"a": 1, "b": 2})).structured_content == {"result": 3}
        async with upstream.mcp_client("py", "mcpgw_dev_narrow_0123456789abcdef") as client:
            assert [t.name for t in (await client.list_tools()).tools] == ["echo"]

        applied = subprocess.run(
            [
                sys.executable,
                "-m",
                "mcpgw.cli",
                "apply",
                "-f",
                str(seed),
                "--url",
                f"http://127.0.0.1:{cp_http}",
            ],
            cwd=REPO,
            env={"MCPGW_STATE_DIR": str(state), "PATH": "/usr/bin:/bin"},
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert applied.returncode == 0, applied.stderr
        assert "server py: unchanged" in applied.stdout
        assert "key team/narrow: unchanged" in applied.stdout

        assert dev.proc is not None
        dev.proc.send_signal(signal.SIGINT)
        assert dev.proc.wait(timeout=30) == 0
        with pytest.raises(httpx.ConnectError):
            httpx.get(f"http://127.0.0.1:{dp_port}/demo/mcp", timeout=2)
    except BaseException:
        print(dev.tail(), upstream.logs())
        raise
    finally:
        dev.stop()
        upstream.stop()
