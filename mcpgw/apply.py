"""``mcpgw apply -f gateway.yaml``: send a declarative config to the control plane's admin API.

The control plane applies the whole document in one transaction (``POST /api/v1/apply``), so
this client only reads the file, sends it, and prints what changed. Generated key secrets are
printed once, as the API returns them only once.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable
from datetime import date, datetime
from pathlib import Path
from typing import Any

import httpx
import yaml


class ApplyError(Exception):
    """The document could not be read or the control plane refused it."""


def load_document(path: Path) -> dict[str, Any]:
    """Read a YAML (or JSON) gateway config file."""
    try:
        data = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError) as exc:
        raise ApplyError(f"cannot read {path}: {exc}") from exc
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ApplyError(f"{path}: the top level must be a mapping (workspaces, servers, keys)")
    return data


def resolve_token(explicit: str | None, state_dir: Path) -> str:
    """The admin token: ``--token``, ``MCPGW_ADMIN_TOKEN``, or the one ``mcpgw dev`` saved."""
    if explicit:
        return explicit
    if env := os.environ.get("MCPGW_ADMIN_TOKEN"):
        return env
    saved = state_dir / "admin-token"
    if saved.exists():
        return saved.read_text().strip()
    raise ApplyError("no admin token: pass --token or set MCPGW_ADMIN_TOKEN")


def apply_document(
    url: str, token: str, document: dict[str, Any], *, timeout: float = 60.0
) -> dict[str, Any]:
    """POST the document to ``{url}/api/v1/apply`` and return the result."""
    try:
        # YAML reads timestamps as datetimes; send them as ISO 8601 text.
        body = json.dumps(document, default=_iso)
        response = httpx.post(
            f"{url.rstrip('/')}/api/v1/apply",
            content=body,
            headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
            timeout=timeout,
        )
    except httpx.HTTPError as exc:
        raise ApplyError(f"cannot reach the control plane at {url}: {exc}") from exc
    if response.status_code >= 400:
        raise ApplyError(f"the control plane refused the document ({response.status_code}): {response.text}")
    result: dict[str, Any] = response.json()
    return result


def _iso(value: object) -> str:
    if isinstance(value, datetime | date):
        return value.isoformat()
    raise TypeError(f"cannot send {type(value).__name__} as JSON")


_SECTIONS: dict[str, Callable[[dict[str, Any]], str]] = {
    "workspaces": lambda item: str(item.get("slug")),
    "servers": lambda item: str(item.get("slug")),
    "identity_providers": lambda item: str(item.get("slug")),
    "users": lambda item: str(item.get("email")),
    "members": lambda item: f"{item.get('workspace')}/{item.get('user')}",
    "keys": lambda item: f"{item.get('workspace')}/{item.get('name')}",
    "teams": lambda item: f"{item.get('workspace')}/{item.get('slug')}",
    "grants": lambda item: f"{item.get('server')}/{item.get('name')}",
    "webhooks": lambda item: str(item.get("workspace")),
    "authn_webhooks": lambda item: str(item.get("workspace")),
}
"""Result section -> how a line names one of its items."""


def format_result(result: dict[str, Any]) -> str:
    """Human-readable lines for an apply result (secrets included: they are shown once)."""
    lines = []
    for section, name_of in _SECTIONS.items():
        for item in result.get(section, []):
            line = f"{section[:-1]} {name_of(item)}: {item.get('action')}"
            if item.get("secret"):
                line += f"  secret (shown once): {item['secret']}"
            lines.append(line)
    for slug, reason in result.get("discovery_errors", {}).items():
        lines.append(f"warning: could not fetch the tool catalog of server {slug}: {reason}")
    return "\n".join(lines) if lines else "nothing to apply"


def run(path: Path, *, url: str, token: str | None, state_dir: Path, as_json: bool) -> int:
    """The ``apply`` subcommand; returns the process exit code."""
    try:
        document = load_document(path)
        result = apply_document(url, resolve_token(token, state_dir), document)
    except ApplyError as exc:
        sys.stderr.write(f"mcpgw apply: {exc}\n")
        return 1
    sys.stdout.write((json.dumps(result, indent=2) if as_json else format_result(result)) + "\n")
    return 0


def run_command(args: argparse.Namespace) -> int:
    """The ``apply`` subcommand, from parsed arguments."""
    return run(args.file, url=args.url, token=args.token, state_dir=args.state_dir, as_json=args.json)
