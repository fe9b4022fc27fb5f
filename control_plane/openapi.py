"""Write the admin API's OpenAPI document: ``python -m control_plane.openapi [--check]``.

The committed copy lives at ``docs/openapi.json``; ``--check`` fails when it is stale, so the
published description of the API always matches the code (``make test`` runs the check).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path
from typing import Any

from control_plane.app import create_app
from control_plane.settings import ControlPlaneSettings

DOCUMENT = Path(__file__).resolve().parents[1] / "docs" / "openapi.json"


def render() -> str:
    """The OpenAPI document as stable, indented JSON text."""
    with tempfile.TemporaryDirectory() as tmp:
        settings = ControlPlaneSettings(state_dir=Path(tmp), database_url="sqlite://", admin_token="-")
        document: dict[str, Any] = create_app(settings, start_distribution=False).openapi()
    return json.dumps(document, indent=2, sort_keys=True) + "\n"


def main() -> int:
    """Write (or with ``--check``, compare) ``docs/openapi.json``."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--check", action="store_true")
    text = render()
    if parser.parse_args().check:
        if not DOCUMENT.exists() or DOCUMENT.read_text() != text:
            sys.stderr.write("docs/openapi.json is stale; run `make openapi`\n")
            return 1
        return 0
    DOCUMENT.write_text(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
