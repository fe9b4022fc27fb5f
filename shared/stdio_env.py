"""The environment a stdio MCP server is started with, the same on both planes.

A stdio server runs with the environment the admin configured for it and nothing else of the
process that launches it: a data plane's environment holds ``MCPGW_*`` settings and secrets,
and a control plane's holds the master key. Only ``PATH``, ``HOME`` and ``LANG`` are carried
over (the commands must be found, caches need a home, text needs an encoding), and the
configured variables override even those.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

__all__ = ["BASE_DEFAULTS", "child_environment"]

BASE_DEFAULTS = {"PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": "/", "LANG": "C.UTF-8"}
"""The minimal environment; each value comes from the launching process when it has one."""


def child_environment(
    configured: Mapping[str, str], *, parent: Mapping[str, str] | None = None
) -> dict[str, str]:
    """The whole environment of a stdio server process: the minimal base, then ``configured``."""
    source = os.environ if parent is None else parent
    base = {name: source.get(name) or default for name, default in BASE_DEFAULTS.items()}
    return {**base, **configured}
