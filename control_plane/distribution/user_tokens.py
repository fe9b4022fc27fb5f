"""The ``UserTokens`` gRPC servicer: data planes ask the broker for a user's upstream access token.

The answer's token is sealed to the asking group's public key, so only data planes holding the
group's private key can open it; a request naming an unknown group is refused.
"""

from __future__ import annotations

import logging
from functools import partial

import grpc
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import Session

from control_plane.db import Database
from control_plane.distribution.inflight import InflightWork
from control_plane.repos import dataplanes
from control_plane.user_oauth import TokenStatus, UserOAuth
from shared import sealing
from shared.keyfiles import from_jwk
from shared.wire.mcpgw.tokens.v1 import tokens_pb2, tokens_pb2_grpc

logger = logging.getLogger(__name__)

_STATUS = {
    TokenStatus.OK: tokens_pb2.UserTokenReply.OK,
    TokenStatus.NOT_CONNECTED: tokens_pb2.UserTokenReply.NOT_CONNECTED,
    TokenStatus.RECONNECT: tokens_pb2.UserTokenReply.RECONNECT_REQUIRED,
    TokenStatus.UNAVAILABLE: tokens_pb2.UserTokenReply.UNAVAILABLE,
}
_Context = grpc.aio.ServicerContext[tokens_pb2.UserTokenRequest, tokens_pb2.UserTokenReply]


class UserTokenService(tokens_pb2_grpc.UserTokensServicer):  # type: ignore[misc]
    """Answers ``UserTokens.Get`` from the per-user OAuth broker."""

    def __init__(self, *, database: Database, broker: UserOAuth, inflight: InflightWork) -> None:
        self._database = database
        self._broker = broker
        self._inflight = inflight

    async def Get(self, request: tokens_pb2.UserTokenRequest, context: _Context) -> tokens_pb2.UserTokenReply:
        """The access token of (user, server), sealed to the group; or why there is none."""
        if not request.group or not request.user_id or not request.server:
            await context.abort(grpc.StatusCode.INVALID_ARGUMENT, "group, user_id and server are required")
        try:
            public_jwk = await self._inflight.run(partial(self._group_key, request.group))
        except SQLAlchemyError:
            logger.exception("reading data-plane group %s failed", request.group)
            await context.abort(grpc.StatusCode.UNAVAILABLE, "the control plane cannot read its database")
        if public_jwk is None:
            await context.abort(
                grpc.StatusCode.NOT_FOUND, f"data-plane group {request.group!r} does not exist"
            )
        try:
            answer = await self._broker.access_token(
                user_id=request.user_id, slug=request.server, run=self._inflight.run
            )
        except SQLAlchemyError:
            logger.exception("the token broker's database work failed")
            await context.abort(grpc.StatusCode.UNAVAILABLE, "the control plane cannot read its database")
        reply = tokens_pb2.UserTokenReply(status=_STATUS[answer.status], message=answer.message)
        if answer.status is TokenStatus.OK:
            reply.sealed_access_token = sealing.seal(answer.access_token, from_jwk(public_jwk))
            reply.expires_in = answer.expires_in
        return reply

    def _group_key(self, group: str) -> dict[str, str] | None:
        with self._database.transaction() as session:
            return _public_key(session, group)


def _public_key(session: Session, group: str) -> dict[str, str] | None:
    row = dataplanes.get_group(session, name=group)
    return dict(row.public_key) if row is not None else None
