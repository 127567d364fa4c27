"""The OpenAPI 3.1 document: generated from the declared routes, valid, complete, and able to fail a response."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from openapi_spec_validator import validate

from tests.api_contract import ContractViolation
from tests.app_fixtures import Web
from web_agent.app import _ERRORS, ERROR_STATUS

pytestmark = pytest.mark.db

# Routes that are not REST operations: the pages, their static files and the agent socket.
NOT_OPERATIONS = {
    "/",
    "/confirm",
    "/kb",
    "/portal",
    "/campaigns",
    "/reports",
    "/supervisor",
    "/wallboard",
    "/ws",
}


async def document(web: Web) -> dict[str, Any]:
    response = await web.client.get("/api/openapi.json")
    assert response.status == 200
    assert response.content_type == "application/json"
    return dict(await response.json())


async def test_the_document_is_a_valid_openapi_3_1_document(web: Web) -> None:
    served = await document(web)
    assert served["openapi"] == "3.1.0"
    validate(served)
    assert served["components"]["securitySchemes"]["bearer"] == {"type": "http", "scheme": "bearer"}


async def test_every_route_of_the_application_is_in_the_document_and_nothing_else(web: Web) -> None:
    served = await document(web)
    routed: set[tuple[str, str]] = set()
    for route in web.client.app.router.routes():
        info = route.resource.get_info() if route.resource is not None else {}
        if "prefix" in info or route.method == "HEAD":
            continue  # the static files
        path = re.sub(r"\{(\w+)(:[^}]*)?\}", r"{\1}", route.resource.canonical if route.resource else "")
        if path not in NOT_OPERATIONS:
            routed.add((route.method.lower(), path))
    documented = {(method, path) for path, item in served["paths"].items() for method in item}
    assert routed - documented == set(), "routes missing from the document"
    assert documented - routed == set(), "the document describes routes that do not exist"
    assert len(documented) == 77  # as many as the hand-written document described


async def test_each_operation_says_what_it_takes_returns_and_which_errors(web: Web) -> None:
    served = await document(web)
    operation_ids = [op["operationId"] for item in served["paths"].values() for op in item.values()]
    assert len(operation_ids) == len(set(operation_ids))
    for path, item in served["paths"].items():
        for method, operation in item.items():
            assert operation["summary"], (path, method)
            names = re.findall(r"\{(\w+)\}", path)
            assert [p["name"] for p in operation.get("parameters", ()) if p["in"] == "path"] == names
            for status, response in operation["responses"].items():
                schema = response.get("content", {}).get("application/json", {}).get("schema", {})
                if "allOf" in schema:  # an error: its error_ids, each of this status
                    ids = schema["allOf"][1]["properties"]["error_id"]["enum"]
                    assert all(ERROR_STATUS[i] == int(status) for i in ids), (path, status)
                    assert response["description"] == ", ".join(ids)
    tickets = served["paths"]["/api/tickets"]["post"]
    assert tickets["requestBody"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/NewTicketBody"
    }
    assert served["components"]["schemas"]["NewTicketBody"]["additionalProperties"] is False
    errors = {s: r["description"] for s, r in tickets["responses"].items() if s >= "400"}
    assert errors == {
        "401": "auth.required",
        "409": "tickets.no_handler_available, tickets.conflict, service.retry",
        "413": "http.request_entity_too_large",
        "422": "tickets.unknown_handler, validation.failed",
        "503": "service.database_unavailable, service.timeout",
    }
    public = served["paths"]["/api/portal/status"]["post"]
    assert public["security"] == []
    assert "401" not in public["responses"]
    supervisors = served["paths"]["/api/handlers"]["get"]
    assert "auth.forbidden" in supervisors["responses"]["403"]["description"]


async def test_every_integer_a_request_may_carry_has_a_range_within_int64(web: Web) -> None:
    served = await document(web)
    schemas = served["components"]["schemas"]

    def integers(node: Any) -> list[dict[str, Any]]:
        if isinstance(node, dict):
            if "$ref" in node:
                return integers(schemas[node["$ref"].rsplit("/", 1)[1]])
            own = [node] if node.get("type") == "integer" else []
            return own + [i for v in node.values() for i in integers(v)]
        if isinstance(node, list):
            return [i for v in node for i in integers(v)]
        return []

    inputs = [
        part
        for item in served["paths"].values()
        for operation in item.values()
        for part in (operation.get("parameters", []), operation.get("requestBody", {}))
    ]
    found = integers(inputs)
    assert len(found) > 20
    for schema in found:
        assert -(2**63) <= schema["minimum"] <= schema["maximum"] <= 2**63 - 1, schema


async def test_one_error_id_has_one_status(web: Web) -> None:
    statuses: dict[str, set[int]] = {}
    for _, status, error_id in _ERRORS:
        statuses.setdefault(error_id, set()).add(status)
    assert {i: s for i, s in statuses.items() if len(s) > 1} == {}


async def test_the_ticket_shape_is_one_schema_shared_by_every_reply_that_has_a_ticket(web: Web) -> None:
    served = await document(web)
    schemas = served["components"]["schemas"]
    assert schemas["TicketReply"]["properties"]["ticket"] == {"$ref": "#/components/schemas/TicketView"}
    assert schemas["TicketPage"]["properties"]["tickets"]["items"] == {
        "$ref": "#/components/schemas/TicketView"
    }
    assert schemas["CustomerPage"]["properties"]["tickets"]["items"] == {
        "$ref": "#/components/schemas/TicketView"
    }
    assert schemas["TicketView"]["properties"]["created_at"] == {"type": "string", "format": "date-time"}


async def test_the_check_of_responses_fails_on_what_the_document_does_not_allow(web: Web) -> None:
    contract = await web.client.contract()
    agent = {"id": 1, "username": "alice", "display_name": "Alice", "role": "agent", "interfaces": []}
    good = json.dumps({"agent": agent}).encode()
    contract.check("GET", "/api/me", 200, "application/json", good)
    for wrong in (
        {"agent": {**agent, "id": "1"}},
        {"agent": {**agent, "role": "boss"}},
        {"agent": {"id": 1, "username": "alice"}},
        {"agent": {**agent, "colour": "red"}},
        {"agent": None},
        [],
    ):
        with pytest.raises(ContractViolation, match="does not allow"):
            contract.check("GET", "/api/me", 200, "application/json", json.dumps(wrong).encode())
    with pytest.raises(ContractViolation, match="not JSON"):
        contract.check("GET", "/api/me", 200, "application/json", b"not json")
    with pytest.raises(ContractViolation, match="status 418 is not declared"):
        contract.check("GET", "/api/me", 418, "application/json", good)
    with pytest.raises(ContractViolation, match="Content-Type"):
        contract.check("GET", "/api/me", 200, "text/html", good)
    with pytest.raises(ContractViolation, match="not one of"):
        contract.check(
            "GET", "/api/me", 401, "application/json", b'{"error_id": "tickets.not_found", "message": "x"}'
        )
    with pytest.raises(ContractViolation, match="no body"):
        contract.check("POST", "/api/auth/logout", 204, "application/json", b"{}")
    with pytest.raises(ContractViolation, match="no such operation"):
        contract.check("PATCH", "/api/me", 200, "application/json", good)
    login = {"token": "t", "expires_at": "tomorrow", "agent": agent}
    with pytest.raises(ContractViolation, match="date-time"):
        contract.check("POST", "/api/auth/login", 200, "application/json", json.dumps(login).encode())
    not_found = b'{"error_id": "http.not_found", "message": "Not Found"}'
    contract.check("GET", "/api/no-such-thing", 404, "application/json", not_found)


async def test_a_test_that_receives_an_undeclared_response_fails(web: Web) -> None:
    await web.agent("alice")
    token = await web.token("alice")
    await web.client.check_responses()
    # Drop validation.failed from GET /api/tickets: a malformed filter, answered 422, now breaks the contract.
    contract = await web.client.contract()
    del contract.document["paths"]["/api/tickets"]["get"]["responses"]["422"]
    answer = await web.client.get(
        "/api/tickets", params={"limit": "0"}, headers={"Authorization": f"Bearer {token}"}
    )
    assert answer.status == 422
    with pytest.raises(ContractViolation, match="status 422 is not declared"):
        await web.client.check_responses()
