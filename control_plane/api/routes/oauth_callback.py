"""``GET /oauth/callback``: where an upstream's authorization server sends the user's browser back.

Public (a browser follows the redirect with no admin credential): the single-use ``state``
authenticates the request, binding it to the user and server that started the flow. The
answer is a small HTML page for the person at the browser; a refusal is a 400 with the reason.
"""

from __future__ import annotations

import html
from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse

from control_plane.api.deps import StateDep
from control_plane.user_oauth import CallbackRefused
from control_plane.user_oauth.broker import CALLBACK_PATH

router = APIRouter(tags=["connections"])

_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{title}</title></head>
<body><h1>{title}</h1><p>{text}</p></body></html>
"""


def _page(status_code: int, title: str, text: str) -> HTMLResponse:
    body = _PAGE.format(title=html.escape(title), text=html.escape(text))
    # No caching, no referrer: the URL carried a one-time code and state.
    headers = {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"}
    return HTMLResponse(body, status_code=status_code, headers=headers)


@router.get(
    CALLBACK_PATH, summary="OAuth redirect target of per-user connections", response_class=HTMLResponse
)
async def oauth_callback(
    state: StateDep,
    code: str = "",
    state_param: Annotated[str, Query(alias="state")] = "",
    error: str = "",
    iss: str = "",
) -> HTMLResponse:
    """Complete a connection: consume the state once, exchange the code with its PKCE verifier,
    store the tokens encrypted. 400 with the reason when the state is unknown, used or expired,
    the authorization server refused, or the code exchange failed."""
    try:
        connected = await run_in_threadpool(
            state.connections.finish, state=state_param, code=code, error=error, iss=iss
        )
    except CallbackRefused as exc:
        return _page(400, "Connection failed", exc.reason)
    return _page(
        200,
        "Connected",
        f"{connected.email} is connected to server '{connected.server}'. You can close this window.",
    )
