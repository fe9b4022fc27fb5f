"""``/api/v1/dataplane-groups`` and ``/api/v1/dataplanes``."""

from __future__ import annotations

from fastapi.testclient import TestClient

from control_plane.models import DataPlane
from shared import keyfiles
from shared.snapshot import verify_snapshot
from tests.control_plane.conftest import state_of
from tests.control_plane.helpers import latest_revision


def test_the_default_group_exists_after_start(client: TestClient) -> None:
    groups = client.get("/api/v1/dataplane-groups").json()
    assert [g["name"] for g in groups] == ["default"]
    assert groups[0]["public_key"]["crv"] == "X25519"


def test_a_group_is_registered_with_its_x25519_public_key_and_records_a_revision(client: TestClient) -> None:
    public = keyfiles.public_jwk(keyfiles.generate("X25519"))
    before = latest_revision(client)

    response = client.post("/api/v1/dataplane-groups", json={"name": "eu-west", "public_key": public})

    assert response.status_code == 201, response.text
    assert response.json()["public_key"] == public
    assert latest_revision(client) == before + 1
    assert "eu-west" in [g["name"] for g in client.get("/api/v1/dataplane-groups").json()]


def test_a_group_key_that_is_not_x25519_is_refused(client: TestClient) -> None:
    signing = keyfiles.public_jwk(keyfiles.generate("Ed25519"))
    response = client.post("/api/v1/dataplane-groups", json={"name": "eu", "public_key": signing})
    assert response.status_code == 422
    assert "X25519" in response.json()["detail"]


def test_a_group_key_with_the_private_half_is_refused(client: TestClient) -> None:
    private = {k: str(v) for k, v in keyfiles.generate("X25519").as_dict(private=True).items()}
    response = client.post("/api/v1/dataplane-groups", json={"name": "eu", "public_key": private})
    assert response.status_code == 422
    assert "private" in response.json()["detail"]


def test_a_malformed_group_key_is_refused(client: TestClient) -> None:
    broken = {"kty": "OKP", "crv": "X25519", "x": "!!"}
    assert (
        client.post("/api/v1/dataplane-groups", json={"name": "eu", "public_key": broken}).status_code == 422
    )


def test_a_duplicate_group_name_is_a_conflict(client: TestClient) -> None:
    public = keyfiles.public_jwk(keyfiles.generate("X25519"))
    assert (
        client.post("/api/v1/dataplane-groups", json={"name": "default", "public_key": public}).status_code
        == 409
    )


def test_data_plane_status_rows_are_listed_and_filtered_by_group(client: TestClient) -> None:
    with state_of(client).db.transaction() as session:
        session.add(DataPlane(node_id="dp-1", group="default", applied_version="7", connected=True))
        session.add(DataPlane(node_id="dp-2", group="eu", nack_version="8", nack_reason="bad signature"))

    everything = client.get("/api/v1/dataplanes").json()
    only_eu = client.get("/api/v1/dataplanes", params={"group": "eu"}).json()

    assert [d["node_id"] for d in everything] == ["dp-1", "dp-2"]
    assert [(d["node_id"], d["nack_reason"]) for d in only_eu] == [("dp-2", "bad signature")]


def test_the_exported_snapshot_verifies_with_the_control_plane_public_key(client: TestClient) -> None:
    response = client.get("/api/v1/dataplane-groups/default/snapshot")

    assert response.status_code == 200, response.text
    public = keyfiles.from_jwk(keyfiles.public_jwk(state_of(client).signing_key))
    snapshot = verify_snapshot(response.text, public)
    assert snapshot.group == "default"
    assert snapshot.version == response.headers["x-mcpgw-snapshot-version"]
    assert str(latest_revision(client)) == snapshot.version


def test_exporting_the_snapshot_of_an_unknown_group_is_a_404(client: TestClient) -> None:
    response = client.get("/api/v1/dataplane-groups/nope/snapshot")
    assert response.status_code == 404
    assert "nope" in response.json()["detail"]
