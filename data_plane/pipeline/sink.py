"""Where the chain sends a response: implemented by the HTTP layer, so stages never build one."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol

from data_plane.pipeline.context import Denial, Outcome, RequestContext


class ResponseSink(Protocol):
    """The client side of one request."""

    settled: Outcome | None
    """The outcome already decided while the response still streams (see :meth:`settle`)."""

    def settle(self, outcome: Outcome) -> None:
        """Note that the answer is out: if the client leaves now, ``outcome`` is what happened."""
        ...

    async def deny(self, ctx: RequestContext, denial: Denial) -> Outcome:
        """Answer with the error for ``denial``; return the outcome to audit."""
        ...

    async def send(self, status: int, headers: Mapping[str, str], body: bytes) -> None:
        """Send a complete response (status, headers and body) at once."""
        ...

    async def start(self, status: int, headers: Mapping[str, str], content_length: int | None) -> None:
        """Send the status line and headers of a streamed response."""
        ...

    async def write(self, chunk: bytes) -> None:
        """Send body bytes as soon as they are available."""
        ...

    async def end(self) -> None:
        """Finish the streamed response."""
        ...
