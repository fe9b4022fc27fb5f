"""``/api/v1/audit-events``: filters and cursor pagination, newest first."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from fastapi.testclient import TestClient

from control_plane.models import AuditEvent
from tests.control_plane.conftest import state_of

START = datetime(2026, 1, 1, tzinfo=UTC)


def _insert_events(client: TestClient, count: int) -> None:
    with state_of(client).db.transaction() as session:
        for i in range(count):
            session.add(
                AuditEvent(
                    event_id=f"ev-{i}",
                    time=START + timedelta(minutes=i),
                    key_id="key-a" if i % 2 == 0 else "key-b",
                    key_name="alpha" if i % 2 == 0 else "beta",
                    server="py" if i < 6 else "other",
                    tool="echo" if i % 3 == 0 else "add",
                    status="ok" if i != 4 else "denied",
                    method="tools/call",
                    via="combo" if i in (2, 3) else "",
                )
            )


def test_events_are_listed_newest_first(client: TestClient) -> None:
    _insert_events(client, 3)
    page = client.get("/api/v1/audit-events").json()
    assert [e["event_id"] for e in page["items"]] == ["ev-2", "ev-1", "ev-0"]
    assert page["next_cursor"] is None


def test_the_cursor_walks_every_event_once(client: TestClient) -> None:
    _insert_events(client, 10)
    seen: list[str] = []
    cursor = None
    for _ in range(10):
        params: dict[str, str | int] = {"limit": 3} | ({"cursor": cursor} if cursor else {})
        page = client.get("/api/v1/audit-events", params=params).json()
        seen += [e["event_id"] for e in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == [f"ev-{i}" for i in range(9, -1, -1)]


def test_each_filter_narrows_the_listing(client: TestClient) -> None:
    _insert_events(client, 10)

    def ids(**params: str) -> set[str]:
        response = client.get("/api/v1/audit-events", params=params)
        assert response.status_code == 200, response.text
        return {e["event_id"] for e in response.json()["items"]}

    assert ids(server="other") == {"ev-6", "ev-7", "ev-8", "ev-9"}
    assert ids(key="key-b", server="py") == {"ev-1", "ev-3", "ev-5"}
    assert ids(key_name="alpha", tool="echo") == {"ev-0", "ev-6"}
    assert ids(status="denied") == {"ev-4"}
    assert ids(via="combo") == {"ev-2", "ev-3"}
    since = (START + timedelta(minutes=7)).isoformat()
    until = (START + timedelta(minutes=9)).isoformat()
    assert ids(since=since, until=until) == {"ev-7", "ev-8"}


def test_a_limit_out_of_range_is_refused(client: TestClient) -> None:
    assert client.get("/api/v1/audit-events", params={"limit": 0}).status_code == 422
    assert client.get("/api/v1/audit-events", params={"limit": 501}).status_code == 422


def test_a_forged_cursor_is_refused_with_422(client: TestClient) -> None:
    response = client.get("/api/v1/audit-events", params={"cursor": "not*a*cursor"})
    assert response.status_code == 422
    assert "cursor" in response.json()["detail"]
