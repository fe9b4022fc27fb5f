"""Runners for the long-lived subcommands: each builds its settings and starts one plane."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from control_plane import rotation
from control_plane.crypto import SecretBox
from control_plane.db import Database
from control_plane.main import run as run_cp
from control_plane.settings import ControlPlaneSettings
from data_plane.main import run as run_dp
from data_plane.settings import DataPlaneSettings
from shared import keyfiles


def run_control_plane() -> int:
    """``mcpgw control-plane``: settings from ``MCPGW_*`` variables."""
    run_cp(ControlPlaneSettings())
    return 0


def run_data_plane(args: argparse.Namespace) -> int:
    """``mcpgw data-plane``: settings from ``MCPGW_DP_*`` variables, overridden by flags."""
    overrides = {
        name: value
        for name in (
            "listen",
            "admin_listen",
            "control_plane",
            "group",
            "verify_key",
            "group_key",
            "state_dir",
            "snapshot_file",
        )
        if (value := getattr(args, name, None)) is not None
    }
    run_dp(DataPlaneSettings.from_env(**overrides))
    return 0


def rotate_master_key(*, generate: bool) -> int:
    """``mcpgw rotate-master-key``: re-encrypt every stored secret under the current master key."""
    settings = ControlPlaneSettings()
    if generate:
        if settings.master_key:
            sys.stderr.write(
                "mcpgw rotate-master-key: --generate rotates the key files of the embedded mode; with "
                "MCPGW_MASTER_KEY set, set the new key there and the old one in MCPGW_MASTER_KEY_PREVIOUS, "
                "then run this command without --generate\n"
            )
            return 2
        if not settings.master_key_file.exists():
            sys.stderr.write(f"mcpgw rotate-master-key: no master key at {settings.master_key_file}\n")
            return 1
        rotation.generate_into_files(settings.master_key_file)
    box = SecretBox.from_config(settings.master_key, settings.master_key_file, settings.master_key_previous)
    db = Database(settings.database_url)
    try:
        db.migrate()
        changed = rotation.reencrypt_all(db, box)
    finally:
        db.dispose()
    if generate:
        rotation.drop_previous_file(settings.master_key_file)
    sys.stdout.write(f"re-encrypted {changed} stored secret(s) under master key {box.current_key_id}\n")
    return 0


def keygen(out: Path) -> int:
    """``mcpgw keygen``: a group key pair; prints the public JWK to register on the control plane."""
    if out.exists():
        sys.stderr.write(f"mcpgw keygen: {out} exists; refusing to overwrite a private key\n")
        return 1
    key = keyfiles.generate("X25519")
    keyfiles.write_private(out, key)
    sys.stdout.write(json.dumps(keyfiles.public_jwk(key)) + "\n")
    return 0
