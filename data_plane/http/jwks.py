"""``GET /.well-known/jwks.json``: the group's identity key, to verify identity JWTs with.

Upstream servers that receive the gateway-signed identity JWT fetch this public document (no
authentication) and verify the JWT's signature with the key named by its ``kid``. The set is
empty while the data plane holds no snapshot, or a snapshot without an identity key.
"""

from __future__ import annotations

from aiohttp import web

from data_plane import keys

ROUTE = "/.well-known/jwks.json"


async def handle_jwks(request: web.Request) -> web.Response:
    """The JWK set of the identity key of the snapshot being served."""
    snapshot = request.app[keys.STORE].current
    signer = snapshot.identity_signer if snapshot is not None else None
    document = {"keys": [signer.public_jwk] if signer is not None else []}
    return web.json_response(document, headers={"Cache-Control": "public, max-age=300"})


def add_routes(app: web.Application) -> None:
    """Register the JWKS route."""
    app.router.add_get(ROUTE, handle_jwks)
