"""Stage 5, upstream: forward to the server and stream its answer back unbuffered.

Only an allow-list of MCP request headers goes upstream (never the client's
``Authorization`` or ``Cookie``), plus the snapshot's injected credentials. The response
is written to the sink chunk by chunk as it arrives; only a ``tools/list`` answer for a
tool-scoped key is rewritten, and never an upstream error status.
"""

from __future__ import annotations

from collections.abc import Mapping

import aiohttp
from multidict import CIMultiDict

from data_plane.pipeline.context import Denial, DenialKind, Outcome, RequestContext
from data_plane.pipeline.sink import ResponseSink
from data_plane.runtime.compiled import Upstream
from data_plane.runtime.responses import INSPECT_LIMIT, SseInspector, error_code_of, filter_json
from data_plane.runtime.upstream import UpstreamClient

FORWARDED_REQUEST_HEADERS = frozenset(
    {
        "content-type",
        "accept",
        "mcp-session-id",
        "mcp-protocol-version",
        "last-event-id",
        "mcp-method",
        "mcp-name",
    }
)
FORWARDED_RESPONSE_HEADERS = (
    "Content-Type",
    "Mcp-Session-Id",
    "MCP-Protocol-Version",
    "Cache-Control",
    "Content-Encoding",
)


def upstream_headers(client_headers: Mapping[str, str], upstream: Upstream) -> CIMultiDict[str]:
    """The request headers sent upstream: the allow-list, then the injected credentials."""
    out: CIMultiDict[str] = CIMultiDict()
    for name, value in client_headers.items():
        lower = name.lower()
        if lower in FORWARDED_REQUEST_HEADERS or lower.startswith("mcp-param-"):
            out.add(name, value)
    for name, value in upstream.injected_headers:
        out[name] = value
    return out


async def call_upstream(ctx: RequestContext, client: UpstreamClient) -> aiohttp.ClientResponse | Denial:
    """Send the request upstream; a denial when the server cannot be reached in time."""
    upstream = ctx.upstream
    if upstream is None:
        return Denial(DenialKind.NOT_FOUND, f"no server '{ctx.slug}' on this gateway")
    timeout = upstream.stream_timeout if ctx.http_method == "GET" else upstream.request_timeout
    try:
        return await client.open(
            ctx.http_method, upstream.url, upstream_headers(ctx.headers, upstream), ctx.body, timeout
        )
    except TimeoutError:
        return Denial(DenialKind.UPSTREAM_TIMEOUT, f"server '{ctx.slug}' did not answer in time")
    except aiohttp.ClientError as exc:
        return Denial(
            DenialKind.UPSTREAM_UNREACHABLE, f"server '{ctx.slug}' is unreachable: {type(exc).__name__}"
        )


def _status(http_status: int, error_code: int) -> str:
    if http_status >= 500:
        return "upstream_error"
    if http_status >= 400 or error_code:
        return "error"
    return "ok"


async def relay(ctx: RequestContext, response: aiohttp.ClientResponse, sink: ResponseSink) -> Outcome:
    """Stream ``response`` to the sink; returns the outcome to audit. Releases the response."""
    status = response.status
    up_headers = response.headers
    headers = {
        name: value for name in FORWARDED_RESPONSE_HEADERS if (value := up_headers.get(name)) is not None
    }
    content_type = up_headers.get("Content-Type", "")
    inspect = status == 200 and ctx.is_request and "Content-Encoding" not in up_headers
    is_sse = content_type.startswith("text/event-stream")
    is_json = content_type.startswith("application/json")
    error_code = 0
    answered = False
    try:
        if inspect and is_json and ctx.tool_filter is not None:
            # The one buffered case: the whole list must be seen to filter it.
            body, error_code = filter_json(await response.read(), ctx.tool_filter)
            await sink.start(status, headers, len(body))
            await sink.write(body)
        elif inspect and is_sse:
            sse = SseInspector(ctx.rpc_id, ctx.tool_filter)
            await sink.start(status, headers, None)
            async for chunk in response.content.iter_any():
                out = sse.feed(chunk)
                if out:
                    await sink.write(out)
                    answered, error_code = sse.done, sse.error_code
            rest = sse.flush()
            if rest:
                await sink.write(rest)
            error_code = sse.error_code
        else:
            await sink.start(status, headers, response.content_length)
            keep = inspect and is_json and (response.content_length or 0) <= INSPECT_LIMIT
            kept: list[bytes] = []
            async for chunk in response.content.iter_any():
                await sink.write(chunk)
                if keep:
                    kept.append(chunk)
            if kept:
                error_code = error_code_of(b"".join(kept))
        await sink.end()
    except ConnectionResetError:
        # Writing to a client that went away (aiohttp's reset error is also a ClientError).
        # SSE clients often hang up right after the response event: that call went fine.
        if answered:
            return Outcome(_status(status, error_code), status, error_code, "", ctx.rule)
        return Outcome("error", status, error_code, "client disconnected", ctx.rule)
    except (aiohttp.ClientError, TimeoutError) as exc:
        return Outcome(
            "upstream_error", status, error_code, f"upstream stream broke: {type(exc).__name__}", ctx.rule
        )
    finally:
        response.release()
    return Outcome(_status(status, error_code), status, error_code, "", ctx.rule)
