"""``mcpgw``: one command with subcommands ``dev``, ``control-plane``, ``data-plane``, ``apply``."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Callable
from importlib import import_module
from pathlib import Path

COMMANDS: dict[str, tuple[str, str]] = {
    "dev": ("mcpgw.dev", "run_dev"),
    "control-plane": ("mcpgw.cp_commands", "run_control_plane"),
    "rotate-master-key": ("mcpgw.cp_commands", "rotate_master_key"),
    "data-plane": ("mcpgw.dp_commands", "run_data_plane"),
    "keygen": ("mcpgw.dp_commands", "keygen"),
    "apply": ("mcpgw.apply", "run_command"),
}
"""Subcommand -> (module, function). Each subcommand imports only the plane it runs: a data
plane must not carry the control plane's FastAPI, SQLAlchemy and Alembic (about 65 MB of RSS),
so the modules are imported when their subcommand is chosen, not at the top of this file."""


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="mcpgw", description="MCP Gateway")
    parser.add_argument("--log-level", default=os.environ.get("MCPGW_LOG_LEVEL", "INFO"))
    sub = parser.add_subparsers(dest="command", required=True)

    dev = sub.add_parser("dev", help="embedded all-in-one: control plane (SQLite) + one data plane over gRPC")
    dev.add_argument("--seed", type=Path, help="apply this gateway.yaml at start")
    dev.add_argument("--state-dir", type=Path, default=Path(os.environ.get("MCPGW_STATE_DIR", ".mcpgw")))
    dev.add_argument("--no-demo", action="store_true", help="do not start and register the demo MCP server")
    dev.add_argument("--demo-port", type=int, default=8100)

    sub.add_parser("control-plane", help="run the control plane (configured by MCPGW_* variables)")

    dp = sub.add_parser("data-plane", help="run a data plane (configured by MCPGW_DP_* variables or flags)")
    dp.add_argument("--listen", help="MCP listener host:port (default 127.0.0.1:8080)")
    dp.add_argument("--admin-listen", help="health/metrics listener host:port (default 127.0.0.1:8081)")
    dp.add_argument("--control-plane", help="control plane gRPC target host:port")
    dp.add_argument("--group", help="data-plane group")
    dp.add_argument("--verify-key", help="control plane's public signing key (JWK file)")
    dp.add_argument("--group-key", help="the group's private key (JWK file)")
    dp.add_argument("--state-dir", help="where the node id and the last good snapshot live")
    dp.add_argument(
        "--snapshot-file", help="air-gapped: a signed snapshot file exported by the control plane"
    )

    keygen = sub.add_parser("keygen", help="generate a data-plane group key pair (hybrid set-up)")
    keygen.add_argument("--out", type=Path, required=True, help="where to write the private JWK (mode 0600)")

    rotate = sub.add_parser(
        "rotate-master-key", help="re-encrypt every stored secret under the current (or a new) master key"
    )
    rotate.add_argument(
        "--generate", action="store_true", help="embedded mode: make a new key current in the state dir first"
    )

    ap = sub.add_parser("apply", help="create or update workspaces, servers and keys from a YAML file")
    ap.add_argument("-f", "--file", type=Path, required=True)
    ap.add_argument("--url", default=os.environ.get("MCPGW_URL", "http://127.0.0.1:8000"))
    ap.add_argument("--token", help="admin token (default: MCPGW_ADMIN_TOKEN or .mcpgw/admin-token)")
    ap.add_argument("--state-dir", type=Path, default=Path(os.environ.get("MCPGW_STATE_DIR", ".mcpgw")))
    ap.add_argument("--json", action="store_true", help="print the raw JSON result")
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``mcpgw`` console script."""
    args = _parser().parse_args(argv)
    logging.basicConfig(
        level=args.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    for chatty in ("httpx", "httpx2", "mcp"):
        logging.getLogger(chatty).setLevel(max(logging.WARNING, logging.getLogger().level))
    module, function = COMMANDS[args.command]
    command: Callable[[argparse.Namespace], int] = getattr(import_module(module), function)
    return command(args)


if __name__ == "__main__":
    sys.exit(main())
