from __future__ import annotations

import orjson
import pytest

from data_plane.runtime.responses import NO_REQUEST, ListFilter, SseInspector, error_code_of, rewrite_json
from data_plane.runtime.task_ids import TaskBinding, TaskIds

TOOLS = {"jsonrpc": "2.0", "id": 1, "result": {"tools": [{"name": "echo"}, {"name": "add"}]}}
ALLOWED = ListFilter("tools", "name", frozenset({"echo"}).__contains__)


def test_json_tool_list_is_filtered_to_the_allowed_names_and_marked_private() -> None:
    public = {**TOOLS, "result": {**TOOLS["result"], "ttlMs": 60000, "cacheScope": "public"}}
    body, code = rewrite_json(orjson.dumps(public), ALLOWED, None)
    result = orjson.loads(body)["result"]
    assert result["tools"] == [{"name": "echo"}]
    assert (result["cacheScope"], result["ttlMs"]) == ("private", 60000)
    assert code == 0


def test_json_error_passes_unchanged_with_its_code() -> None:
    raw = b'{"jsonrpc":"2.0","id":1,"error":{"code":-32601,"message":"no"}}'
    assert rewrite_json(raw, ALLOWED, None) == (raw, -32601)


@pytest.mark.parametrize(
    ("body", "code"),
    [
        (b'{"jsonrpc":"2.0","id":1,"result":{}}', 0),
        (b'{"jsonrpc":"2.0","id":1,"error":{"code":-32602,"message":"bad"}}', -32602),
        (b'{"jsonrpc":"2.0","id":1,"result":{"text":"\\"error\\""}}', 0),
        (b'not json with "error"', 0),
    ],
)
def test_error_code_is_found_cheaply_in_small_bodies(body: bytes, code: int) -> None:
    assert error_code_of(body) == code


def _event(message: dict[str, object], sep: bytes = b"\n") -> bytes:
    return b"event: message" + sep + b"data: " + orjson.dumps(message) + sep + sep


@pytest.mark.parametrize("sep", [b"\n", b"\r\n"])
def test_sse_rewrites_only_the_response_to_this_request(sep: bytes) -> None:
    progress = _event({"jsonrpc": "2.0", "method": "notifications/progress", "params": {}}, sep)
    other = _event({"jsonrpc": "2.0", "id": 99, "result": {"tools": [{"name": "add"}]}}, sep)
    answer = _event(TOOLS, sep)
    inspector = SseInspector(1, ALLOWED)
    stream = progress + other + answer + b"data: trailing" + sep + sep
    out = b"".join(inspector.feed(stream[i : i + 7]) for i in range(0, len(stream), 7)) + inspector.flush()
    assert out.startswith(progress + other)
    rewritten = out[len(progress + other) :]
    data = next(line for line in rewritten.split(sep) if line.startswith(b"data: {"))
    assert orjson.loads(data[6:])["result"]["tools"] == [{"name": "echo"}]
    assert rewritten.endswith(b"data: trailing" + sep + sep)
    assert inspector.done


def test_sse_without_a_filter_passes_bytes_unchanged_and_notes_the_error_code() -> None:
    event = _event({"jsonrpc": "2.0", "id": 1, "error": {"code": -32603, "message": "x"}})
    inspector = SseInspector(1, None)
    assert inspector.feed(event[:10]) == b""
    assert inspector.feed(event[10:]) == event
    assert inspector.error_code == -32603


def test_a_stream_answering_no_request_has_every_task_id_sealed_and_the_rest_untouched() -> None:
    ids = TaskIds.ephemeral()
    binding = TaskBinding(ids, "py", "k-wide", "GET")
    status = {"jsonrpc": "2.0", "method": "notifications/tasks/status", "params": {"taskId": "t-1"}}
    untouched = _event({"jsonrpc": "2.0", "method": "notifications/tools/list_changed"}) + b": keep-alive\n\n"
    stream = _event(status) + untouched + _event(status)
    inspector = SseInspector(NO_REQUEST, None, binding.seal_in, b'"taskId"')
    out = b"".join(inspector.feed(stream[i : i + 5]) for i in range(0, len(stream), 5)) + inspector.flush()
    sealed = ids.seal("py", "k-wide", "t-1").encode()
    assert b"t-1" not in out and out.count(sealed) == 2
    assert untouched in out
    assert not inspector.done
