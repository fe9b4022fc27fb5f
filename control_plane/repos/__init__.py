"""Repository functions: keyword-only, each takes the session; no queries inside routes."""
