"""Per-user OAuth toward upstream servers: the connect flow and the access-token broker."""

from control_plane.user_oauth.broker import CallbackRefused, Connected, TokenAnswer, TokenStatus, UserOAuth
from control_plane.user_oauth.client import AuthorizationServerUnavailable

__all__ = [
    "AuthorizationServerUnavailable",
    "CallbackRefused",
    "Connected",
    "TokenAnswer",
    "TokenStatus",
    "UserOAuth",
]
