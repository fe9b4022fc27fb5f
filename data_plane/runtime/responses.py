"""Response-path inspection: filter list results to what the caller may use, spot error codes.

Works on JSON bodies and on SSE streams. Bodies that need no change are never re-serialized;
for SSE only the event carrying the JSON-RPC response to this request is ever rewritten.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import orjson

INSPECT_LIMIT = 64 * 1024
"""JSON bodies up to this size are parsed (once, after streaming) to find an error code."""

_EVENT_ENDS = (b"\r\n\r\n", b"\n\n")
NO_REQUEST = object()
"""The ``rpc_id`` of an :class:`SseInspector` on a stream that answers no request (a GET stream)."""


@dataclass(frozen=True, slots=True)
class ListFilter:
    """Which entries of a list result the caller sees: those of ``result[key]`` whose ``field``
    passes ``keep`` (``tools``/``name``, ``prompts``/``name``, ``resources``/``uri``,
    ``resourceTemplates``/``uriTemplate``)."""

    key: str
    field: str
    keep: Callable[[str], bool]


def _filter_list(message: dict[str, Any], only: ListFilter) -> bool:
    result = message.get("result")
    if not isinstance(result, dict):
        return False
    entries = result.get(only.key)
    if not isinstance(entries, list):
        return False
    field, keep = only.field, only.keep
    result[only.key] = [
        e for e in entries if isinstance(e, dict) and isinstance(name := e.get(field), str) and keep(name)
    ]
    # The list now depends on who asked: no cache may share it across callers (2026-07-28 caching).
    result["cacheScope"] = "private"
    return True


def _error_code(message: dict[str, Any]) -> int:
    error = message.get("error")
    if isinstance(error, dict):
        code = error.get("code")
        if type(code) is int:
            return code
        return -1
    return 0


def negotiated_version(message: Any) -> str:
    """The ``protocolVersion`` of an ``initialize`` result message, empty when there is none."""
    result = message.get("result") if isinstance(message, dict) else None
    version = result.get("protocolVersion") if isinstance(result, dict) else None
    return version if isinstance(version, str) else ""


def parse_message(body: bytes) -> Any:
    """A small JSON body parsed, ``None`` when it is not JSON."""
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError:
        return None


def error_code_of(body: bytes) -> int:
    """The JSON-RPC error code of a small JSON response body, 0 when it is no error."""
    if b'"error"' not in body or len(body) > INSPECT_LIMIT:
        return 0
    try:
        message = orjson.loads(body)
    except orjson.JSONDecodeError:
        return 0
    return error_code_of_message(message)


def error_code_of_message(message: Any) -> int:
    """The JSON-RPC error code of a parsed message, 0 when it is no error."""
    return _error_code(message) if isinstance(message, dict) else 0


Rewrite = Callable[[Any], bool]
"""Changes a parsed JSON-RPC message in place; returns whether it changed anything."""


def rewrite_json(body: bytes, only: ListFilter | None, rewrite: Rewrite | None) -> tuple[bytes, int]:
    """Filter the entries of a JSON list response and apply ``rewrite``; returns (body, error code).

    The body is re-serialized only when something changed."""
    try:
        message = orjson.loads(body)
    except orjson.JSONDecodeError:
        return body, 0
    if not isinstance(message, dict):
        return body, 0
    changed = only is not None and _filter_list(message, only)
    if rewrite is not None and rewrite(message):
        changed = True
    return (orjson.dumps(message) if changed else body), _error_code(message)


class SseInspector:
    """Splits an SSE stream into whole events and inspects the response to ``rpc_id``.

    Events pass through as they complete. The one event whose data is the JSON-RPC response
    to this request is parsed: its error code is noted and, with ``only`` set, its list is
    filtered. With ``rewrite`` set, every event up to that one that mentions ``marker`` is
    parsed and rewritten too (server requests and notifications in the request's stream).
    After the response event the rest of the stream passes through untouched.
    """

    __slots__ = (
        "_buffer",
        "_marker",
        "_only",
        "_rewrite",
        "_rpc_id",
        "delivered",
        "done",
        "error_code",
        "response",
    )

    def __init__(
        self, rpc_id: Any, only: ListFilter | None, rewrite: Rewrite | None = None, marker: bytes = b""
    ) -> None:
        self._rpc_id = rpc_id
        self._only = only
        self._rewrite = rewrite
        self._marker = marker
        self._buffer = b""
        self.done = False
        self.error_code = 0
        self.response: dict[str, Any] | None = None
        """The JSON-RPC response message to ``rpc_id``, once seen."""
        self.delivered = False
        """Set by the caller once the bytes holding the answer event were written out."""

    def feed(self, chunk: bytes) -> bytes:
        """Bytes ready to send after ``chunk`` arrived (whole events, maybe one rewritten)."""
        if self.done:
            return chunk
        data = self._buffer + chunk if self._buffer else chunk
        out: list[bytes] = []
        start = 0
        done = False
        while not done:
            end, sep = self._next_end(data, start)
            if end < 0:
                break
            event, done = self._event(data[start:end], sep)
            out.append(event)
            start = end + len(sep)
        if done:
            self.done = True
            out.append(data[start:])
            self._buffer = b""
        else:
            self._buffer = data[start:]
        return b"".join(out)

    def flush(self) -> bytes:
        """Whatever is left when the stream ends (an unterminated event, passed as is)."""
        rest, self._buffer = self._buffer, b""
        return rest

    @staticmethod
    def _next_end(data: bytes, start: int) -> tuple[int, bytes]:
        best, best_sep = -1, b""
        for sep in _EVENT_ENDS:
            idx = data.find(sep, start)
            if idx >= 0 and (best < 0 or idx < best):
                best, best_sep = idx, sep
        return best, best_sep

    def _event(self, event: bytes, sep: bytes) -> tuple[bytes, bool]:
        rewrite = self._rewrite if self._rewrite is not None and self._marker in event else None
        if rewrite is None and b'"result"' not in event and b'"error"' not in event:
            return event + sep, False
        newline = b"\r\n" if sep == b"\r\n\r\n" else b"\n"
        lines = event.split(newline)
        data_lines = [line[5:].removeprefix(b" ") for line in lines if line.startswith(b"data:")]
        try:
            message = orjson.loads(b"\n".join(data_lines))
        except orjson.JSONDecodeError:
            return event + sep, False
        if not isinstance(message, dict):
            return event + sep, False
        is_response = message.get("id") == self._rpc_id and "method" not in message
        changed = rewrite is not None and rewrite(message)
        if is_response:
            self.error_code = _error_code(message)
            self.response = message
            if self._only is not None and _filter_list(message, self._only):
                changed = True
        if not changed:
            return event + sep, is_response
        kept = [line for line in lines if not line.startswith(b"data:")]
        kept.append(b"data: " + orjson.dumps(message))
        return newline.join(kept) + sep, is_response
