"""The OpenAPI document describes every admin route: tag, summary, response model, security."""

from __future__ import annotations

from fastapi.testclient import TestClient


def test_every_admin_operation_has_a_tag_a_summary_and_the_bearer_scheme(client: TestClient) -> None:
    document = client.get("/openapi.json").json()

    operations = [
        (path, method, op)
        for path, item in document["paths"].items()
        if path.startswith("/api/v1")
        for method, op in item.items()
    ]
    assert operations
    for path, method, op in operations:
        assert op.get("tags") and op.get("summary"), (method, path)
        assert op.get("security") == [{"HTTPBearer": []}], (method, path)
        success = next(code for code in op["responses"] if code.startswith("2"))
        if success != "204":
            content = op["responses"][success]["content"]
            assert any(media.get("schema") for media in content.values()), (method, path)


def test_server_and_key_schemas_never_expose_secrets(client: TestClient) -> None:
    schemas = client.get("/openapi.json").json()["components"]["schemas"]

    assert "headers" not in schemas["ServerPublic"]["properties"]
    assert "headers_encrypted" not in schemas["ServerPublic"]["properties"]
    assert {"secret", "key_hash"}.isdisjoint(schemas["AgentKeyPublic"]["properties"])
