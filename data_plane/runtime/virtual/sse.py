"""Server-sent events of member upstreams, split into JSON-RPC messages, and the id rewriting
that lets a client's answer to a member's server-to-client request find that member again."""

from __future__ import annotations

from typing import Any

import orjson

_ENDS = (b"\r\n\r\n", b"\n\n")
ID_PREFIX = "mcpgw~"
"""Ids of server-to-client requests relayed by a virtual server: ``mcpgw~{member}~{json id}``."""


class SseSplitter:
    """Cuts an SSE byte stream into whole events."""

    __slots__ = ("_buffer",)

    def __init__(self) -> None:
        self._buffer = b""

    def feed(self, chunk: bytes) -> list[bytes]:
        """The events completed by ``chunk`` (each without its blank-line terminator)."""
        data = self._buffer + chunk
        events: list[bytes] = []
        while True:
            cut = [(i, sep) for sep in _ENDS if (i := data.find(sep)) >= 0]
            if not cut:
                break
            index, sep = min(cut)
            events.append(data[:index])
            data = data[index + len(sep) :]
        self._buffer = data
        return events


def event_message(event: bytes) -> Any:
    """The JSON data of an event, ``None`` when it has none (or it is not JSON)."""
    lines = event.replace(b"\r\n", b"\n").split(b"\n")
    data = [line[5:].removeprefix(b" ") for line in lines if line.startswith(b"data:")]
    if not data:
        return None
    try:
        return orjson.loads(b"\n".join(data))
    except orjson.JSONDecodeError:
        return None


def sse_event(message: Any) -> bytes:
    """One SSE event carrying ``message`` (no event id: a merged stream cannot be resumed)."""
    return b"event: message\ndata: " + orjson.dumps(message) + b"\n\n"


def tag_request_id(member: str, message: dict[str, Any]) -> dict[str, Any]:
    """A server-to-client request with its id rewritten to name the member it came from."""
    return {**message, "id": f"{ID_PREFIX}{member}~{orjson.dumps(message['id']).decode()}"}


def untag_response_id(rpc_id: Any) -> tuple[str, Any] | None:
    """(member, original id) of a client's answer to a relayed request; ``None`` if not one."""
    if not isinstance(rpc_id, str) or not rpc_id.startswith(ID_PREFIX):
        return None
    member, sep, raw = rpc_id[len(ID_PREFIX) :].partition("~")
    if not sep:
        return None
    try:
        return member, orjson.loads(raw)
    except orjson.JSONDecodeError:
        return None


def is_server_request(message: Any) -> bool:
    """A server-to-client request (it has a method and an id)."""
    return isinstance(message, dict) and "method" in message and "id" in message
