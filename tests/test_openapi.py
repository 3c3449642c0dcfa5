"""The OpenAPI 3 document served at /api/v1/openapi.json, generated from the marshmallow schemas."""
import pytest

SPEC_URL = "/api/v1/openapi.json"


@pytest.fixture
def spec(client):
    resp = client.get(SPEC_URL)
    assert resp.status_code == 200
    assert resp.mimetype == "application/json"
    return resp.get_json()


def _resolve(spec, node):
    ref = node.get("$ref")
    if ref is None:
        return node
    assert ref.startswith("#/components/schemas/")
    return spec["components"]["schemas"][ref.rsplit("/", 1)[1]]


def test_openapi_document_is_version_3_and_public(spec):
    assert spec["openapi"].startswith("3.")
    assert spec["info"]["title"] and spec["info"]["version"]


def test_token_endpoint_request_body_comes_from_token_in(spec):
    post = spec["paths"]["/api/v1/auth/token"]["post"]
    schema_node = post["requestBody"]["content"]["application/json"]["schema"]
    assert schema_node == {"$ref": "#/components/schemas/TokenIn"}
    token_in = _resolve(spec, schema_node)
    assert set(token_in["properties"]) == {"username", "password", "device_id"}
    assert set(token_in["required"]) == {"username", "password", "device_id"}
    assert token_in["properties"]["username"]["maxLength"] == 80


def test_token_endpoint_documents_the_201_token_response(spec):
    post = spec["paths"]["/api/v1/auth/token"]["post"]
    body = _resolve(spec, post["responses"]["201"]["content"]["application/json"]["schema"])
    assert {"token", "expires_at", "user"} <= set(body["properties"])


def test_me_is_documented_with_bearer_security(spec):
    get = spec["paths"]["/api/v1/me"]["get"]
    assert {"bearer": []} in get["security"]
    assert spec["components"]["securitySchemes"]["bearer"]["scheme"] == "bearer"
    user = _resolve(spec, get["responses"]["200"]["content"]["application/json"]["schema"])
    assert {"id", "username", "role", "hamlet_ids"} <= set(user["properties"])
