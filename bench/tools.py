"""External tools the suite needs (wrk, nginx, py-spy): find them, or install them when allowed."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from bench.nginx import nginx_binary

APT_PACKAGES = {"wrk": "wrk", "nginx": "nginx"}


class ToolMissing(Exception):
    """A tool is absent and could not be installed; the message says what to do."""


def _present(tool: str) -> bool:
    return (nginx_binary() if tool == "nginx" else shutil.which(tool)) is not None


def ensure(tools: tuple[str, ...] = ("wrk", "nginx")) -> None:
    """Make sure ``tools`` are installed: ``apt-get install -y`` them when root, else raise."""
    missing = [t for t in tools if not _present(t)]
    if not missing:
        return
    if os.geteuid() != 0 or shutil.which("apt-get") is None:
        raise ToolMissing(
            f"missing {', '.join(missing)}: install them (e.g. `sudo apt-get install -y "
            f"{' '.join(APT_PACKAGES[t] for t in missing)}`) or run `make bench` as root on Debian/Ubuntu"
        )
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    packages = [APT_PACKAGES[t] for t in missing]
    sys.stderr.write(f"bench: installing {' '.join(packages)} with apt-get\n")
    update = subprocess.run(["apt-get", "update", "-qq"], env=env, capture_output=True, check=False)
    install = subprocess.run(
        ["apt-get", "install", "-y", "-qq", *packages], env=env, capture_output=True, check=False
    )
    still = [t for t in tools if not _present(t)]
    if still:
        detail = (update.stderr + install.stderr).decode(errors="replace")[-800:]
        raise ToolMissing(f"apt-get could not install {', '.join(still)}:\n{detail}")


def py_spy() -> str | None:
    """The py-spy executable next to this interpreter or on PATH, if any."""
    beside = Path(sys.executable).with_name("py-spy")
    return str(beside) if beside.exists() else shutil.which("py-spy")
