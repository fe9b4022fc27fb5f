"""Anything unexpected becomes a logged 500 JSON-RPC error, never a bare traceback."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from data_plane import errors
from data_plane import keys as app_keys
from data_plane.app import create_app
from data_plane.pipeline.chain import Chain
from data_plane.pipeline.context import RequestContext
from tests.data_plane.dpkit import dp_settings, serving
from tests.data_plane.kit import KeyPair


async def test_unexpected_exception_is_a_500_json_rpc_error_and_is_logged(
    keys: KeyPair, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    app = create_app(dp_settings(keys, tmp_path))
    real = app[app_keys.CHAIN]

    def explode(ctx: RequestContext) -> RequestContext:
        raise RuntimeError("boom")

    app[app_keys.CHAIN] = Chain(forward=real.forward, relay=real.relay, record=real.record, stages=(explode,))
    async with serving(app) as base:
        async with httpx.AsyncClient(timeout=5) as http:
            response = await http.post(f"{base}/py/mcp", content=b"{}")
        audited = app[app_keys.AUDIT_BUFFER].take(10)
    assert response.status_code == 500
    assert response.json()["error"]["code"] == errors.INTERNAL_ERROR
    assert "boom" not in response.text
    assert any(r.exc_info and "boom" in str(r.exc_info[1]) for r in caplog.records)
    assert [(e.status, e.http_status) for e in audited] == [("error", 500)]
