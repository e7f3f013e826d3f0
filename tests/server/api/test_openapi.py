"""The OpenAPI document describes every answer: each JSON operation has a 2xx response schema that is not empty."""

from __future__ import annotations

from typing import Any

import pytest

# Operations that answer something other than JSON (files, text, a stream) or nothing at all (204).
NOT_JSON = {
    ("GET", "/api/v1/sessions/{session_id}/log"),
    ("GET", "/api/v1/sessions/{session_id}/events"),
    ("GET", "/api/v1/trained-models/{tmid}/download"),
    ("GET", "/api/v1/trained-models/{tmid}/card"),
    ("GET", "/api/v1/saved-models/{saved_model_id}/download"),
    ("GET", "/api/v1/saved-models/{saved_model_id}/export"),
    ("GET", "/api/v1/folders/{folder_id}/files/{path}"),
    ("GET", "/api/v1/datasets/{dataset_id}/download"),
    ("GET", "/metrics"),
}


@pytest.fixture
def document(api: Any) -> dict[str, Any]:
    """The document the app serves at /openapi.json (the one schemathesis fuzzes)."""
    return api.client.get("/openapi.json").json()


def _operations(document: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [(method.upper(), path, op) for path, ops in document["paths"].items() for method, op in ops.items()]


def _success(op: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {code: answer for code, answer in op["responses"].items() if code.startswith("2")}


def test_every_json_operation_documents_a_response_schema(document: dict[str, Any]) -> None:
    missing = []
    for method, path, op in _operations(document):
        success = _success(op)
        assert success, f"{method} {path} documents no 2xx answer"
        if (method, path) in NOT_JSON or all(code == "204" for code in success):
            continue
        for code, answer in success.items():
            schema = answer.get("content", {}).get("application/json", {}).get("schema")
            if not schema:
                missing.append(f"{method} {path} {code}")
    assert not missing, f"JSON answers without a schema: {missing}"


def test_the_other_operations_do_not_claim_json(document: dict[str, Any]) -> None:
    for method, path, op in _operations(document):
        if (method, path) not in NOT_JSON:
            continue
        for code, answer in _success(op).items():
            content = answer.get("content", {})
            assert content and "application/json" not in content, f"{method} {path} {code}: {content}"


def test_every_component_schema_has_properties_or_a_type(document: dict[str, Any]) -> None:
    for name, schema in document["components"]["schemas"].items():
        assert schema.get("properties") or schema.get("type") or schema.get("anyOf"), name
