"""The OpenAPI 3 document served at /api/v1/openapi.json, generated from the marshmallow schemas,
says what the server really answers; docs/api.md names every endpoint and error code."""
from pathlib import Path

import pytest

from schemas.errors import HTTP_ERROR_CODES
from server.errors import _CODES
from server.vocab import ERROR_CODES

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


# ---- the document matches what the server answers ------------------------------------------

def _response(spec, node):
    ref = node.get("$ref")
    if ref:
        assert ref.startswith("#/components/responses/")
        return spec["components"]["responses"][ref.rsplit("/", 1)[1]]
    return node


def _operations(spec):
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            if method in ("get", "put", "post", "patch", "delete"):
                yield method, path, operation


def test_errors_are_documented_in_the_contracts_shape(spec):
    error = spec["components"]["schemas"]["Error"]
    assert error["required"] == ["error"]
    detail = _resolve(spec, error["properties"]["error"])
    assert set(detail["properties"]) == {"code", "message", "fields"}
    assert set(detail["required"]) == {"code", "message", "fields"}
    for method, path, operation in _operations(spec):
        for status, node in operation["responses"].items():
            if status == "default" or int(status) >= 400:
                content = _response(spec, node)["content"]["application/json"]
                assert content["schema"] == {"$ref": "#/components/schemas/Error"}, \
                    (method, path, status)


def test_flask_smorests_own_error_shape_is_gone(spec):
    for name, schema in spec["components"]["schemas"].items():
        # flask-smorest's ErrorSchema: {"code", "status", "message", "errors"}
        assert not {"code", "status", "message"} <= set(schema.get("properties", {})), name


@pytest.mark.parametrize("method, path, statuses", [
    ("post", "/api/v1/auth/token", {400, 401, 413, 415, 422, 429}),
    ("delete", "/api/v1/auth/token", {401}),
    ("get", "/api/v1/me", {401}),
    ("post", "/api/v1/sync/push", {400, 401, 403, 413, 415, 422}),
    ("get", "/api/v1/sync/pull", {401, 403, 422}),
    ("get", "/api/v1/visits", {401, 403, 404, 422}),
    ("put", "/api/v1/visits/{visit_id}/photos/{photo_id}", {401, 403, 404, 409, 413, 415, 422}),
    ("get", "/api/v1/visits/{visit_id}/photos/{photo_id}", {401, 403, 404, 422}),
    ("get", "/api/v1/visits/{visit_id}/photos/{photo_id}/thumb", {401, 403, 404, 422}),
])
def test_each_operation_documents_the_errors_it_gives(spec, method, path, statuses):
    documented = {int(s) for s in spec["paths"][path][method]["responses"] if s != "default"}
    assert statuses <= documented
    assert "default" in spec["paths"][path][method]["responses"]


def test_every_operation_taking_a_token_documents_401(spec):
    for method, path, operation in _operations(spec):
        if {"bearer": []} in operation.get("security", []):
            assert "401" in operation["responses"], (method, path)


def test_path_ids_are_uuids(spec):
    for path in ("/api/v1/visits/{visit_id}/photos/{photo_id}",
                 "/api/v1/visits/{visit_id}/photos/{photo_id}/thumb"):
        params = {p["name"]: p for p in spec["paths"][path]["parameters"]}
        for name in ("visit_id", "photo_id"):
            assert params[name]["schema"] == {"type": "string", "format": "uuid"}


def test_pull_parameters_say_what_they_accept(spec):
    params = {p["name"]: p for p in spec["paths"]["/api/v1/sync/pull"]["get"]["parameters"]}
    assert params["cursor"]["schema"]["type"] == "string"
    assert params["cursor"]["schema"]["maxLength"] == 512
    assert "opaque" in params["cursor"]["description"].lower()
    assert params["limit"]["schema"]["minimum"] == 1
    assert params["limit"]["schema"]["maximum"] == 1000
    household = spec["paths"]["/api/v1/visits"]["get"]["parameters"][0]
    assert household["schema"]["format"] == "uuid" and household["required"]


def test_push_results_document_their_codes(spec):
    result = spec["components"]["schemas"]["ItemResultOut"]
    assert {"type", "id", "status", "version", "errors", "codes", "server"} <= set(
        result["properties"])


# ---- docs/api.md, the project's own contract, cannot drift from the server -----------------

DOC = (Path(__file__).resolve().parent.parent / "docs" / "api.md").read_text(encoding="utf-8")


@pytest.mark.parametrize("code", sorted(ERROR_CODES))
def test_every_rejection_code_is_documented(code):
    assert f"`{code}`" in DOC


@pytest.mark.parametrize("code", sorted(set(HTTP_ERROR_CODES) | set(_CODES.values())))
def test_every_error_code_is_documented(code):
    assert f"`{code}`" in DOC


def test_every_endpoint_is_documented(spec):
    for method, path, _ in _operations(spec):
        written = path.replace("{", "<").replace("}", ">")
        assert written in DOC, f"{method.upper()} {path} is not in docs/api.md"
