"""Legacy HTTP+SSE (MCP 2024-11-05) upstream servers, bridged like stdio ones.

``connection`` (one GET stream and its POST endpoint) -> the stdio ``Channel`` (routing, ids)
-> ``pool`` (sessions, per-request connections, idle close), served by the stdio host's
Streamable HTTP face. See docs/architecture.md, "Legacy SSE upstreams".
"""
