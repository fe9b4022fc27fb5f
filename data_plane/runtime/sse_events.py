"""An incremental parser of Server-Sent Events (the WHATWG ``text/event-stream`` format).

Used where the gateway itself reads events rather than passing bytes through: the legacy
HTTP+SSE upstream connection (``runtime/sse_upstream``) and the downstream legacy SSE endpoint,
which turns Streamable HTTP answers (JSON or SSE) into events of its own stream.
"""

from __future__ import annotations

from dataclasses import dataclass

MAX_EVENT_BYTES = 16 * 1024 * 1024
"""An event (or a line) longer than this is a protocol error (as large as a request body)."""


class SseTooLarge(ValueError):
    """An event grew beyond :data:`MAX_EVENT_BYTES`."""


@dataclass(frozen=True, slots=True)
class SseEvent:
    """One dispatched event: its type (``message`` unless named) and its data lines joined."""

    event: str
    data: str
    id: str | None = None


class SseParser:
    """Feed bytes as they arrive; complete events come out (``\\n``, ``\\r\\n`` line ends)."""

    def __init__(self, *, limit: int = MAX_EVENT_BYTES) -> None:
        self._limit = limit
        self._buffer = b""
        self._event = ""
        self._data: list[str] = []
        self._id: str | None = None
        self._size = 0

    def feed(self, chunk: bytes) -> list[SseEvent]:
        """The events completed by ``chunk``; :class:`SseTooLarge` on an oversized event."""
        self._buffer += chunk
        events: list[SseEvent] = []
        while (end := self._buffer.find(b"\n")) >= 0:
            line = self._buffer[:end].rstrip(b"\r")
            self._buffer = self._buffer[end + 1 :]
            event = self._line(line.decode("utf-8", "replace"))
            if event is not None:
                events.append(event)
        if len(self._buffer) + self._size > self._limit:
            raise SseTooLarge(f"an SSE event is longer than {self._limit} bytes")
        return events

    def _line(self, line: str) -> SseEvent | None:
        if not line:
            return self._dispatch()
        if line.startswith(":"):
            return None  # a comment (keep-alive)
        name, colon, value = line.partition(":")
        if colon and value.startswith(" "):
            value = value[1:]
        if name == "event":
            self._event = value
        elif name == "data":
            self._data.append(value)
            self._size += len(value)
            if self._size > self._limit:
                raise SseTooLarge(f"an SSE event is longer than {self._limit} bytes")
        elif name == "id" and "\x00" not in value:
            self._id = value
        return None

    def _dispatch(self) -> SseEvent | None:
        event = SseEvent(self._event or "message", "\n".join(self._data), self._id) if self._data else None
        self._event, self._data, self._size = "", [], 0
        return event
