"""Sealed task ids: MCP tasks (2025-11-25) bound to the caller that created them.

An upstream's task id is a capability: whoever presents it to ``tasks/get``, ``tasks/result``
or ``tasks/cancel`` reaches the task, and an upstream shared by several callers (a stdio
process, a server without sessions) cannot tell them apart. So the client never sees the
upstream's id. Every task id an answer carries (a task-augmented request's ``CreateTaskResult``,
``tasks/get`` and ``tasks/cancel`` results, ``notifications/tasks/status`` and the
``io.modelcontextprotocol/related-task`` metadata of messages in a task's stream) is replaced
by a token sealed like a session id (AES-256-GCM under a key of its own, derived from the
group key with its own label) that names the server, the caller's key id and the upstream id. A ``tasks/*``
request must present a token sealed for the same server and caller; anything else is an
unknown task. Any data plane of the group opens the token: no task store.

``tasks/list`` cannot be answered this way (the upstream lists every caller's tasks and their
ids say nothing about who made them), so the gateway does not offer it: the capability is
removed from ``initialize`` results and the method is refused with ``-32601``.
"""

from __future__ import annotations

import hashlib
import hmac
import os
from dataclasses import dataclass
from typing import Any

import orjson
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from data_plane.runtime.sessions import NONCE_BYTES, TOKEN_VERSION, decode_sealed, encode_sealed

TASK_KEY_INFO = b"mcpgw task v1"
"""HKDF ``info`` label of the task-id key: session tokens never open as task ids, nor back."""
RELATED_TASK = "io.modelcontextprotocol/related-task"
TASK_METHODS = frozenset({"tasks/get", "tasks/result", "tasks/cancel"})
"""Requests naming one task by ``params.taskId``."""
_TOP_LEVEL_TASK_RESULTS = frozenset({"tasks/get", "tasks/cancel"})
"""Requests whose result is a Task itself (``taskId`` at the top of ``result``)."""


class TaskIds:
    """Seals upstream task ids for one caller and server, and opens them again.

    Sealing is deterministic: the same task, caller and server always give the same token,
    because a client compares the ``taskId`` of ``tasks/get`` answers and status notifications
    with the one it was given. The AES-GCM nonce is therefore synthesized from the plaintext
    (HMAC-SHA256 under a second derived key, as in SIV constructions): equal ids seal equally,
    and that equality is all the token reveals.

    The token layout is the session tokens' (``sessions.encode_sealed``); the plaintext is
    ``[server, key id, task id]``.
    """

    __slots__ = ("_aead", "_nonce_key")

    def __init__(self, key: bytes) -> None:
        if len(key) != 32:
            raise ValueError("a task-id key is 32 bytes")
        self._aead = AESGCM(_derive(key, b"encrypt"))
        self._nonce_key = _derive(key, b"nonce")

    @classmethod
    def ephemeral(cls) -> TaskIds:
        """A per-process key: task ids then open only on this data plane (no group key set)."""
        return cls(os.urandom(32))

    def seal(self, server: str, key_id: str, upstream_id: str) -> str:
        """The task id the client sees for ``upstream_id``."""
        plaintext = orjson.dumps([server, key_id, upstream_id])
        nonce = hmac.new(self._nonce_key, plaintext, hashlib.sha256).digest()[:NONCE_BYTES]
        return encode_sealed(nonce, self._aead.encrypt(nonce, plaintext, TOKEN_VERSION))

    def open(self, token: str, server: str, key_id: str) -> str | None:
        """The upstream id inside ``token`` when it was sealed for this server and caller."""
        parts = decode_sealed(token)
        if parts is None:
            return None
        try:
            fields = orjson.loads(self._aead.decrypt(parts[0], parts[1], TOKEN_VERSION))
        except (InvalidTag, orjson.JSONDecodeError):
            return None
        if not isinstance(fields, list) or len(fields) != 3 or not all(isinstance(f, str) for f in fields):
            return None
        if fields[0] != server or fields[1] != key_id:
            return None
        upstream_id: str = fields[2]
        return upstream_id


def _derive(key: bytes, label: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"mcpgw task id " + label).derive(key)


@dataclass(frozen=True, slots=True)
class TaskBinding:
    """Seals the task ids of the messages answering one request (the response path's rewrite)."""

    task_ids: TaskIds
    server: str
    key_id: str
    method: str
    """The request's method: only ``tasks/get``/``tasks/cancel`` results carry ``taskId`` on top."""

    def seal_in(self, message: Any) -> bool:
        """Replace every upstream task id ``message`` carries; whether any was replaced."""
        if not isinstance(message, dict):
            return False
        holders: list[Any] = []
        result = message.get("result")
        if isinstance(result, dict):
            if self.method in _TOP_LEVEL_TASK_RESULTS:
                holders.append(result)
            holders.append(result.get("task"))
            holders.append(_related(result))
        params = message.get("params")
        if isinstance(params, dict):
            if message.get("method") == "notifications/tasks/status":
                holders.append(params)
            holders.append(_related(params))
        changed = False
        for holder in holders:
            if isinstance(holder, dict) and isinstance(upstream_id := holder.get("taskId"), str):
                holder["taskId"] = self.task_ids.seal(self.server, self.key_id, upstream_id)
                changed = True
        return changed


def _related(container: dict[str, Any]) -> Any:
    meta = container.get("_meta")
    return meta.get(RELATED_TASK) if isinstance(meta, dict) else None


def without_task_listing(message: Any) -> bool:
    """Drop ``capabilities.tasks.list`` from an ``initialize`` result; whether it was there."""
    result = message.get("result") if isinstance(message, dict) else None
    capabilities = result.get("capabilities") if isinstance(result, dict) else None
    tasks = capabilities.get("tasks") if isinstance(capabilities, dict) else None
    if not isinstance(tasks, dict) or "list" not in tasks:
        return False
    del tasks["list"]
    return True
