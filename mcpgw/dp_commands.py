"""Subcommands that run data-plane code only: ``data-plane`` and ``keygen``.

Kept apart from the control plane's commands so a data-plane process never loads FastAPI,
SQLAlchemy or Alembic.
"""

from __future__ import annotations

import argparse
import json
import sys

from data_plane.main import run as run_dp
from data_plane.settings import OVERRIDE_NAMES, DataPlaneSettings
from shared import keyfiles


def run_data_plane(args: argparse.Namespace) -> int:
    """``mcpgw data-plane``: settings from ``MCPGW_DP_*`` variables, overridden by flags."""
    overrides = {name: value for name in OVERRIDE_NAMES if (value := getattr(args, name, None)) is not None}
    run_dp(DataPlaneSettings.from_env(**overrides))
    return 0


def keygen(args: argparse.Namespace) -> int:
    """``mcpgw keygen``: a group key pair; prints the public JWK to register on the control plane."""
    out = args.out
    if out.exists():
        sys.stderr.write(f"mcpgw keygen: {out} exists; refusing to overwrite a private key\n")
        return 1
    key = keyfiles.generate("X25519")
    keyfiles.write_private(out, key)
    sys.stdout.write(json.dumps(keyfiles.public_jwk(key)) + "\n")
    return 0
