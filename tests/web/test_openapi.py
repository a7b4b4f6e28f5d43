"""The OpenAPI document describes every body and answer, and the bearer scheme on every
protected operation; /docs is served from the package."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

PUBLIC = ("/webhooks/", "/c/", "/r/", "/sim/", "/2010-04-01/")


def _resolve(spec: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        schema = spec["components"]["schemas"][name]
    return schema


def _untyped(spec: dict[str, Any], schema: dict[str, Any] | None) -> bool:
    if not schema:
        return True
    schema = _resolve(spec, schema)
    if schema.get("type") == "array":
        return _untyped(spec, schema.get("items"))
    if "anyOf" in schema or "oneOf" in schema:
        return any(_untyped(spec, s) for s in schema.get("anyOf", schema.get("oneOf", []))
                   if s.get("type") != "null")
    return schema.get("type") == "object" and not schema.get("properties")


def _is_file_answer(answer: dict[str, Any]) -> bool:
    """A file's bytes (a text's picture), declared as binary for each kind it may be."""
    content = answer.get("content", {})
    return bool(content) and "application/json" not in content and all(
        c.get("schema") == {"type": "string", "format": "binary"} for c in content.values())


def _operations(spec: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [(path, method, op) for path, item in spec["paths"].items()
            for method, op in item.items()]


def test_every_body_and_answer_has_a_schema_and_every_protected_operation_a_bearer(
        client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    assert spec["components"]["securitySchemes"]["bearer"]["scheme"].lower() == "bearer"
    problems = []
    for path, method, op in _operations(spec):
        if not path.startswith("/api/"):
            continue
        content = op.get("requestBody", {}).get("content", {})
        for media in content.values():
            if _untyped(spec, media.get("schema")):
                problems.append(f"{method} {path}: untyped request body")
        for status, answer in op["responses"].items():
            if status.startswith("2") and status != "204":
                if _is_file_answer(answer):
                    continue
                media = answer.get("content", {}).get("application/json")
                if media is None or _untyped(spec, media.get("schema")):
                    problems.append(f"{method} {path}: untyped {status} answer")
        if {"bearer": []} not in op.get("security", []):
            problems.append(f"{method} {path}: no bearer security")
    assert problems == []
    assert len([p for p, _, _ in _operations(spec) if p.startswith("/api/")]) > 60


def test_errors_are_documented_as_schemas(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    schemas = spec["components"]["schemas"]
    assert {"code", "message", "fix"} <= set(schemas["Reason"]["properties"])
    assert {"error", "blockers"} <= set(schemas["SendBlockedBody"]["properties"])
    assert {"error", "message", "field"} <= set(schemas["ErrorBody"]["properties"])
    send = spec["paths"]["/api/v1/messages"]["post"]["responses"]["422"]
    assert "SendBlockedBody" in str(send)


def test_docs_are_served_from_the_package(client: TestClient) -> None:
    page = client.get("/docs")
    assert page.status_code == 200 and "cdn" not in page.text.lower()
    assert client.get("/static-offline-docs/swagger-ui-bundle.js").status_code == 200
