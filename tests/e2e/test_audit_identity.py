"""End to end: audit events name the caller's user, teams and identity provider, and the audit
API lists and filters them."""

from __future__ import annotations

import pytest

from tests.e2e.gateway import Gateway
from tests.e2e.processes import eventually
from tests.e2e.test_access_changes import call

pytestmark = pytest.mark.e2e


async def test_an_event_names_the_user_and_teams_of_a_user_owned_key(gateway: Gateway) -> None:
    gateway.register_upstream()
    alice = gateway.admin_ok("POST", "/users", json={"email": "alice@demo.test"})
    bob = gateway.admin_ok("POST", "/users", json={"email": "bob@demo.test"})
    for user in (alice, bob):
        gateway.admin_ok("POST", "/workspaces/demo/members", json={"user": user["id"], "role": "member"})
    finance = gateway.admin_ok("POST", "/teams", json={"workspace": "demo", "slug": "finance"})
    gateway.admin_ok("POST", f"/teams/{finance['id']}/members", json={"user": alice["id"]})
    gateway.admin_ok(
        "POST",
        "/grants",
        json={"name": "finance-py", "server": "py", "subject": {"kind": "team", "id": "finance"}},
    )
    key = gateway.admin_ok(
        "POST", "/keys", json={"name": "alice-cli", "workspace": "demo", "owner": alice["id"]}
    )
    eventually(lambda: call(gateway, key["secret"], "add") == 0, seconds=10, what="alice may call add")

    def audited() -> list[dict[str, object]]:
        page = gateway.admin_ok("GET", "/audit-events", params={"user": alice["id"], "tool": "add"})
        return [e for e in page["items"] if e["status"] == "ok"]

    eventually(lambda: bool(audited()), seconds=10, what="an audit event of alice's call")
    event = audited()[0]
    assert event["user_id"] == alice["id"] and event["key_id"] == key["id"]
    assert event["team_ids"] == finance["id"] and event["teams"] == "finance"
    assert event["identity_provider"] == ""  # a key, not a token
    assert gateway.admin_ok("GET", "/audit-events", params={"user": bob["id"]})["items"] == []
