"""Stdio upstream servers: the data plane launches them and keeps a bounded pool of processes.

``launch`` (what to run, compiled per snapshot) -> ``process`` (one child) -> ``channel`` (its
one MCP connection, routing) -> ``pool`` (bounds, sessions, restarts) -> ``endpoint`` and
``host`` (a Streamable HTTP face on a private unix socket, which the upstream stage calls like
any other upstream). See docs/architecture.md, "Stdio upstreams".
"""
