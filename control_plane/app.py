"""The control plane's FastAPI app: ``create_app(settings)``.

The lifespan migrates the database, loads (or creates) the master key, the snapshot signing key
and the ``default`` data-plane group, then starts config distribution; on shutdown it stops
distribution and closes the database.
"""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator
from contextlib import ExitStack, asynccontextmanager

from fastapi import FastAPI
from joserfc.jwk import OKPKey
from pydantic import BaseModel

from control_plane.api import build_router, errors
from control_plane.api.deps import ControlPlaneState
from control_plane.api.routes import oauth_callback, wellknown
from control_plane.crypto import SecretBox
from control_plane.db import Database
from control_plane.distribution import Distribution
from control_plane.repos import dataplanes, groups
from control_plane.settings import ControlPlaneSettings
from control_plane.user_oauth import UserOAuth
from shared import keyfiles

logger = logging.getLogger(__name__)

DEFAULT_GROUP = "default"


class Health(BaseModel):
    status: str


def _write_public_key(settings: ControlPlaneSettings, key: OKPKey) -> None:
    path = settings.state_dir / "signing-key.pub.jwk"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(keyfiles.public_jwk(key)))


def ensure_default_group(db: Database, settings: ControlPlaneSettings, secrets: SecretBox) -> None:
    """Create the ``default`` data-plane group, writing its private key to the state directory.

    Also gives every group made before identity keys existed its identity key.
    """
    with db.transaction() as session:
        groups.ensure_identity_keys(session, secrets=secrets)
        if dataplanes.get_group(session, name=DEFAULT_GROUP) is not None:
            return
        key = keyfiles.generate("X25519")
        groups.create(session, name=DEFAULT_GROUP, public_key=keyfiles.public_jwk(key), secrets=secrets)
        path = settings.state_dir / "groups" / f"{DEFAULT_GROUP}.jwk"
        keyfiles.write_private(path, key)
        logger.info("created data-plane group %r; its private key is in %s", DEFAULT_GROUP, path)


def create_app(settings: ControlPlaneSettings, *, start_distribution: bool = True) -> FastAPI:
    """Build the control-plane app; ``start_distribution=False`` serves only the admin API (tests)."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        db = Database(settings.database_url)
        with ExitStack() as stack:
            stack.callback(db.dispose)
            db.migrate()
            secrets = SecretBox.from_config(
                settings.master_key, settings.master_key_file, settings.master_key_previous
            )
            signing_key = keyfiles.load_or_create(settings.resolved_signing_key_file, "Ed25519")
            _write_public_key(settings, signing_key)
            ensure_default_group(db, settings, secrets)
            user_oauth = UserOAuth(db=db, secrets=secrets, public_url=settings.public_url)
            stack.callback(user_oauth.close)
            distribution = (
                Distribution(
                    settings=settings,
                    database=db,
                    signing_key=signing_key,
                    secrets=secrets,
                    user_oauth=user_oauth,
                )
                if start_distribution
                else None
            )
            app.state.control_plane = ControlPlaneState(
                settings=settings,
                db=db,
                secrets=secrets,
                signing_key=signing_key,
                distribution=distribution,
                user_oauth=user_oauth,
            )
            if distribution is None:
                yield
                return
            await distribution.start()
            try:
                yield
            finally:
                await distribution.stop()

    app = FastAPI(
        title="MCP Gateway control plane",
        version="1",
        summary="Admin API: workspaces, upstream MCP servers, agent keys, data planes, audit.",
        lifespan=lifespan,
    )
    errors.install(app)
    app.include_router(build_router())
    app.include_router(wellknown.router)
    app.include_router(oauth_callback.router)

    @app.get("/healthz", tags=["health"], summary="Liveness")
    def healthz() -> Health:
        """Answers 200 while the process serves HTTP (no authentication)."""
        return Health(status="ok")

    return app
