"""Per-user upstream tokens, asked of the control plane's broker (``UserTokens.Get`` over gRPC).

The control plane holds every user's refresh token and refreshes it (rotation makes it unsafe
for several data planes to do so); the data plane asks for the access token of (user, server)
when its cached copy runs out, and the answer is sealed to the group key. A user with no
connection, or whose connection was revoked or expired, gets :class:`AccessRefused` carrying
the control plane's message (where to reconnect); a control plane that cannot be reached or an
authorization server that fails gives :class:`CredentialUnavailable`.
"""

from __future__ import annotations

from dataclasses import dataclass

import grpc
from joserfc.jwk import OKPKey

from data_plane.runtime.grpc_options import CHANNEL_OPTIONS
from data_plane.runtime.upstream_tokens import AccessRefused, CredentialUnavailable, Retryable, Token
from shared.sealing import UnsealError, unseal
from shared.wire.mcpgw.tokens.v1 import tokens_pb2, tokens_pb2_grpc

CALL_TIMEOUT_SECONDS = 15.0
"""The broker may refresh at the authorization server (10 s bound there) before answering."""


@dataclass(frozen=True, slots=True)
class UserTokenKey:
    """Whose token for which server."""

    user_id: str
    server: str


class UserTokenSource:
    """Asks the control plane for users' access tokens over one gRPC channel."""

    def __init__(self, *, target: str | None, group: str, group_key: OKPKey | None) -> None:
        self._target = target
        self._group = group
        self._group_key = group_key
        self._channel: grpc.aio.Channel | None = None

    async def fetch(self, key: UserTokenKey) -> Token:
        """The access token of ``key``; raises :class:`CredentialUnavailable` or :class:`AccessRefused`."""
        if self._target is None:
            raise CredentialUnavailable(
                f"server '{key.server}' needs per-user tokens from the control plane, and this data plane "
                "has no control plane (air-gapped)"
            )
        if self._group_key is None:
            raise CredentialUnavailable("per-user tokens need the group key (MCPGW_DP_GROUP_KEY)")
        if self._channel is None:
            self._channel = grpc.aio.insecure_channel(self._target, options=CHANNEL_OPTIONS)
        stub = tokens_pb2_grpc.UserTokensStub(self._channel)
        request = tokens_pb2.UserTokenRequest(group=self._group, user_id=key.user_id, server=key.server)
        try:
            reply: tokens_pb2.UserTokenReply = await stub.Get(request, timeout=CALL_TIMEOUT_SECONDS)
        except grpc.aio.AioRpcError as exc:
            raise Retryable(f"the control plane did not give a token: {exc.code().name}") from exc
        if reply.status == tokens_pb2.UserTokenReply.OK:
            try:
                token = unseal(reply.sealed_access_token, self._group_key)
            except UnsealError as exc:
                raise CredentialUnavailable(
                    f"the token from the control plane cannot be opened: {exc}"
                ) from exc
            return Token(access_token=token, expires_in=max(reply.expires_in, 1.0))
        if reply.status in (
            tokens_pb2.UserTokenReply.NOT_CONNECTED,
            tokens_pb2.UserTokenReply.RECONNECT_REQUIRED,
        ):
            raise AccessRefused(reply.message)
        raise CredentialUnavailable(reply.message or "the control plane gave no token")

    async def close(self) -> None:
        """Close the channel."""
        if self._channel is not None:
            await self._channel.close()
            self._channel = None
