"""The ``AuditIngest`` gRPC servicer: store each batch, then acknowledge it by batch id."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Sequence
from functools import partial
from typing import TYPE_CHECKING

import grpc
from sqlalchemy.exc import SQLAlchemyError

from control_plane.audit.store import store_events
from control_plane.db import Database
from shared.wire.mcpgw.audit.v1 import audit_pb2, audit_pb2_grpc

if TYPE_CHECKING:
    from control_plane.distribution.inflight import InflightWork

logger = logging.getLogger(__name__)


class AuditIngestService(audit_pb2_grpc.AuditIngestServicer):  # type: ignore[misc]
    """Receives audit batches from data planes on the bidirectional ``Report`` stream."""

    def __init__(self, *, database: Database, inflight: InflightWork) -> None:
        self._database = database
        self._inflight = inflight

    async def Report(
        self,
        request_iterator: AsyncIterator[audit_pb2.AuditBatch],
        context: grpc.aio.ServicerContext[audit_pb2.AuditBatch, audit_pb2.AuditBatchAck],
    ) -> AsyncIterator[audit_pb2.AuditBatchAck]:
        """Store every batch idempotently and answer it with how many events were new.

        A batch that cannot be stored (database down) ends the stream with ``UNAVAILABLE`` and
        is not acknowledged, so the data plane keeps it and resends it after reconnecting.
        """
        async for batch in request_iterator:
            try:
                stored = await self._inflight.run(partial(self._store, list(batch.events)))
            except SQLAlchemyError:
                logger.exception("storing audit batch %s from %s failed", batch.batch_id, batch.node_id)
                await context.abort(
                    grpc.StatusCode.UNAVAILABLE, "the audit store is unavailable; resend later"
                )
            yield audit_pb2.AuditBatchAck(batch_id=batch.batch_id, stored=stored)

    def _store(self, events: Sequence[audit_pb2.AuditEvent]) -> int:
        with self._database.transaction() as session:
            return store_events(session, events=events)
