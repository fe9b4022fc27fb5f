"""Stage 8, tasks: MCP tasks bound to the caller (``data_plane/runtime/task_ids.py``).

A ``tasks/get``, ``tasks/result`` or ``tasks/cancel`` must name a task id the gateway sealed
for this caller and server; it goes upstream with the upstream's own id. The answer to it, to a
task-augmented request (``params.task``), and the session's GET stream have their task ids
sealed on the way back.
``tasks/list`` is refused: it cannot be narrowed to the caller's tasks.
"""

from __future__ import annotations

from typing import Any

import orjson
from msgspec.structs import replace

from data_plane.pipeline.context import Denial, DenialKind, RequestContext
from data_plane.runtime.stdio.endpoint import is_modern_request
from data_plane.runtime.task_ids import TASK_METHODS, TaskBinding, TaskIds


def bind_tasks(ctx: RequestContext, *, task_ids: TaskIds) -> RequestContext | Denial:
    """Open the task id a ``tasks/*`` request names; mark answers whose task ids get sealed."""
    method = ctx.rpc_method
    message = ctx.message
    if ctx.virtual is not None:
        return ctx
    principal = ctx.principal
    key_id = principal.key_id if principal is not None else ""
    if ctx.http_method == "GET":
        # The session's GET stream carries notifications/tasks/status of the caller's tasks.
        return replace(ctx, tasks=TaskBinding(task_ids, ctx.slug, key_id, "GET"))
    if not ctx.is_request or message is None:
        return ctx
    if method == "tasks/list":
        return Denial(
            DenialKind.METHOD_NOT_OFFERED,
            "tasks/list is not offered through the gateway: an upstream lists every caller's tasks, "
            "and task ids here are bound to the caller that created them",
        )
    params: Any = message.get("params")
    binding = TaskBinding(task_ids, ctx.slug, key_id, method)
    if method in TASK_METHODS:
        token = params.get("taskId") if isinstance(params, dict) else None
        upstream_id = task_ids.open(token, ctx.slug, binding.key_id) if isinstance(token, str) else None
        if upstream_id is None:
            if method == "tasks/result" and is_modern_request(message):
                # 2026-07-28 removed tasks/result (tasks/get carries the result): the upstream's own answer.
                return Denial(
                    DenialKind.METHOD_NOT_OFFERED, "tasks/result does not exist in protocol 2026-07-28"
                )
            return Denial(
                DenialKind.TASK_NOT_FOUND, f"unknown task: not one this caller created on server '{ctx.slug}'"
            )
        opened = {**message, "params": {**params, "taskId": upstream_id}}
        return replace(ctx, message=opened, body=orjson.dumps(opened), tasks=binding)
    if isinstance(params, dict) and isinstance(params.get("task"), dict):
        return replace(ctx, tasks=binding)
    return ctx
