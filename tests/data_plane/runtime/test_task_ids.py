"""Sealed task ids: deterministic, bound to server and caller, and found wherever a message holds one."""

from __future__ import annotations

from typing import Any

from data_plane.runtime.sessions import SessionClaims, SessionSealer
from data_plane.runtime.task_ids import RELATED_TASK, TaskBinding, TaskIds, without_task_listing

IDS = TaskIds.ephemeral()


def test_a_task_id_opens_for_its_server_and_caller_only() -> None:
    token = IDS.seal("py", "k-alice", "upstream-7")
    assert IDS.open(token, "py", "k-alice") == "upstream-7"
    assert IDS.open(token, "py", "k-bob") is None
    assert IDS.open(token, "other", "k-alice") is None
    assert TaskIds.ephemeral().open(token, "py", "k-alice") is None  # another group's key
    assert "upstream-7" not in token


def test_sealing_is_deterministic_so_clients_can_compare_ids() -> None:
    assert IDS.seal("py", "k-alice", "upstream-7") == IDS.seal("py", "k-alice", "upstream-7")
    assert IDS.seal("py", "k-alice", "upstream-7") != IDS.seal("py", "k-bob", "upstream-7")
    assert IDS.seal("py", "k-alice", "upstream-7") != IDS.seal("py", "k-alice", "upstream-8")


def test_tampered_foreign_and_malformed_tokens_open_to_nothing() -> None:
    token = IDS.seal("py", "k-alice", "upstream-7")
    flipped = token[:-2] + ("A" if token[-2] != "A" else "B") + token[-1]
    session_token = SessionSealer.ephemeral().seal(SessionClaims("py", "upstream-7", "k-alice", "task", 1))
    for bad in (flipped, session_token, "", "not base64 !", "x" * 5000, "AQ", "upstream-7"):
        assert IDS.open(bad, "py", "k-alice") is None, bad


def test_every_place_an_answer_carries_a_task_id_is_sealed() -> None:
    binding = TaskBinding(IDS, "py", "k-alice", "tasks/get")
    sealed = IDS.seal("py", "k-alice", "t-1")

    def related() -> dict[str, Any]:
        return {"_meta": {RELATED_TASK: {"taskId": "t-1"}}}

    messages: list[dict[str, Any]] = [
        {"jsonrpc": "2.0", "id": 1, "result": {"taskId": "t-1", "status": "working"}},
        {"jsonrpc": "2.0", "id": 1, "result": {"task": {"taskId": "t-1"}}},
        {"jsonrpc": "2.0", "id": 1, "result": {"content": [], **related()}},
        {"jsonrpc": "2.0", "method": "notifications/tasks/status", "params": {"taskId": "t-1"}},
        {"jsonrpc": "2.0", "id": 9, "method": "elicitation/create", "params": {"message": "?", **related()}},
    ]
    for message in messages:
        assert binding.seal_in(message) is True
        assert "t-1" not in str(message)
        assert sealed in str(message)


def test_a_top_level_task_id_is_sealed_only_in_answers_that_are_tasks() -> None:
    call = TaskBinding(IDS, "py", "k-alice", "tools/call")
    message = {"jsonrpc": "2.0", "id": 1, "result": {"taskId": "t-1", "content": []}}
    assert call.seal_in(message) is False
    assert message["result"]["taskId"] == "t-1"


def test_the_task_listing_capability_is_withdrawn_from_initialize_results() -> None:
    message = {"result": {"capabilities": {"tasks": {"list": {}, "cancel": {}, "requests": {}}}}}
    assert without_task_listing(message) is True
    assert message == {"result": {"capabilities": {"tasks": {"cancel": {}, "requests": {}}}}}
    assert without_task_listing(message) is False
    assert without_task_listing({"result": {"capabilities": {}}}) is False
