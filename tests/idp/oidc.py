"""A real OIDC provider process (node-oidc-provider, ``tests/idp/provider.mjs``) for tests.

``npm ci`` runs once when ``tests/idp/node_modules`` is missing (only the npm registry is
needed). The provider listens on a free loopback port; see ``provider.mjs`` for its clients.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import free_port
from tests.e2e.processes import stop_process

IDP_DIR = Path(__file__).resolve().parent
MACHINE = ("machine", "machine-secret")
GATEWAY = ("gateway", "gateway-secret")
UPSTREAM_APP = ("upstream-app", "upstream-app-secret")
"""The gateway's client registration for per-user connections (authorization code + refresh)."""
SCOPE = "mcp:tools"


def ensure_installed() -> None:
    """Install the provider's npm dependencies from the lock file, once."""
    if (IDP_DIR / "node_modules" / "oidc-provider").exists():
        return
    npm = shutil.which("npm")
    if npm is None or shutil.which("node") is None:
        pytest.fail("node and npm are needed to run the test OIDC provider (tests/idp)")
    subprocess.run([npm, "ci", "--no-audit", "--no-fund"], cwd=IDP_DIR, check=True, timeout=300)


@dataclass
class OidcProvider:
    """A running provider: its issuer and helpers to get tokens from it."""

    issuer: str
    proc: subprocess.Popen[str]

    def url(self, path: str) -> str:
        return self.issuer + path

    def token(self, *, resource: str | None = None, scope: str | None = SCOPE) -> dict[str, Any]:
        """A client_credentials token response for the ``machine`` client."""
        form = {"grant_type": "client_credentials"}
        if resource is not None:
            form["resource"] = resource
        if scope is not None and resource is not None:
            form["scope"] = scope
        response = httpx.post(self.url("/token"), data=form, auth=MACHINE, timeout=10)
        assert response.status_code == 200, response.text
        result: dict[str, Any] = response.json()
        return result

    def access_token(self, *, resource: str | None = None, scope: str | None = SCOPE) -> str:
        return str(self.token(resource=resource, scope=scope)["access_token"])

    def revoke(self, token: str) -> None:
        response = httpx.post(self.url("/token/revocation"), data={"token": token}, auth=MACHINE, timeout=10)
        assert response.status_code == 200, response.text

    def jwks(self) -> dict[str, Any]:
        result: dict[str, Any] = httpx.get(self.url("/jwks"), timeout=10).json()
        return result


@contextmanager
def running_provider(
    *, prefix: str = "", upstream_redirect: str = "", upstream_ttl: int = 0
) -> Iterator[OidcProvider]:
    """Start ``provider.mjs`` on a free port; stop it afterwards.

    ``upstream_redirect`` is the one redirect URI registered for the ``upstream-app`` client and
    ``upstream_ttl`` the lifetime of its access tokens (seconds).
    """
    ensure_installed()
    port = free_port()
    args = ["node", "provider.mjs", "--port", str(port)]
    if prefix:
        args += ["--prefix", prefix]
    if upstream_redirect:
        args += ["--upstream-redirect", upstream_redirect]
    if upstream_ttl:
        args += ["--upstream-ttl", str(upstream_ttl)]
    proc = subprocess.Popen(args, cwd=IDP_DIR, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()  # bounded: the process prints READY or exits
        if not line.startswith("READY "):
            raise AssertionError(f"the OIDC provider did not start: {line!r}")
        yield OidcProvider(issuer=line.split(" ", 1)[1].strip(), proc=proc)
    finally:
        stop_process(proc)
        if proc.stdout is not None:
            proc.stdout.close()


@pytest.fixture(scope="session")
def oidc_provider() -> Iterator[OidcProvider]:
    """One provider process for the test session."""
    with running_provider() as provider:
        yield provider
