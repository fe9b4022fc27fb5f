"""Subcommands that run control-plane code: ``control-plane`` and ``rotate-master-key``."""

from __future__ import annotations

import argparse
import sys

from control_plane import rotation
from control_plane.crypto import SecretBox
from control_plane.db import Database
from control_plane.main import run as run_cp
from control_plane.settings import ControlPlaneSettings


def run_control_plane(_args: argparse.Namespace) -> int:
    """``mcpgw control-plane``: settings from ``MCPGW_*`` variables."""
    run_cp(ControlPlaneSettings())
    return 0


def rotate_master_key(args: argparse.Namespace) -> int:
    """``mcpgw rotate-master-key``: re-encrypt every stored secret under the current master key."""
    generate: bool = args.generate
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
