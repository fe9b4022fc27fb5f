"""joserfc's JWS size cap, and a data-plane entry point that runs with it lifted.

``shared.snapshot.verify_snapshot`` calls joserfc with its default registry, whose cap on a
compact JWS is 129,536 bytes (128,000-byte payload). A snapshot beyond that (a few hundred
keys) is refused by every data plane. To still measure big snapshots the bench lifts the cap
in its own process and runs the config-scale data plane as
``python -m bench.jws_limit data-plane ...``; the refusal itself is reported as a finding.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager

from joserfc.jws import JWSRegistry

from mcpgw.cli import main as mcpgw_main

UNLIMITED = 1 << 31


@contextmanager
def lifted_jws_limit() -> Iterator[None]:
    """Lift joserfc's default JWS payload cap for the duration."""
    saved = JWSRegistry.max_payload_length
    JWSRegistry.max_payload_length = UNLIMITED
    try:
        yield
    finally:
        JWSRegistry.max_payload_length = saved


def main() -> int:
    """``mcpgw`` with the cap lifted (arguments as for ``python -m mcpgw.cli``)."""
    with lifted_jws_limit():
        return mcpgw_main(sys.argv[1:])


if __name__ == "__main__":
    sys.exit(main())
