"""MCP Gateway control plane: registry, keys, snapshot compiler, distribution, audit store."""
