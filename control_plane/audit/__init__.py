"""Audit on the control plane: ingest from data planes (gRPC) and the idempotent store."""

from control_plane.audit.ingest import AuditIngestService
from control_plane.audit.store import store_events

__all__ = ["AuditIngestService", "store_events"]
