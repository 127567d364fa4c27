"""The OpenAPI document as a contract: every response a web test receives is checked against it.

`Contract` reads the document the application serves at /api/openapi.json and checks one
response: its status must be declared for the operation (an error's error_id among those the
operation lists), its content type and body must match the declared schema (JSON Schema 2020-12,
the dialect of OpenAPI 3.1, formats such as date-time checked). `CheckedClient` is aiohttp's
TestClient with that check on every response it receives; a mismatch fails the test with what was
wrong.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from aiohttp import ClientResponse
from aiohttp.test_utils import TestClient
from jsonschema import Draft202012Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012
from yarl import URL

_DOCUMENT_URI = "urn:hotline:openapi"
# How aiohttp routes a path parameter of each schema type (web_agent.routes.Route.router_path).
_SEGMENT = {"integer": r"\d{1,18}", "string": r"[^{}/]+"}


class ContractViolation(AssertionError):
    """A response that the OpenAPI document does not allow."""


@dataclass(frozen=True)
class _Operation:
    method: str
    path: str
    pattern: re.Pattern[str]
    responses: dict[str, Any]


class Contract:
    """The operations of one OpenAPI document, and the check of a response against them."""

    def __init__(self, document: dict[str, Any]) -> None:
        self.document = document
        resource = Resource.from_contents(document, default_specification=DRAFT202012)
        self._registry: Registry[Any] = Registry().with_resource(_DOCUMENT_URI, resource)
        self._operations: list[_Operation] = []
        self._validators: dict[str, Draft202012Validator] = {}
        for path, item in document["paths"].items():
            for method, operation in item.items():
                kinds = {
                    p["name"]: p["schema"].get("type", "string")
                    for p in operation.get("parameters", ())
                    if p["in"] == "path"
                }
                regex = re.sub(
                    r"\\\{(\w+)\\\}", lambda m, k=kinds: f"(?:{_SEGMENT[k[m[1]]]})", re.escape(path)
                )
                self._operations.append(
                    _Operation(method.upper(), path, re.compile(f"^{regex}$"), operation["responses"])
                )
        # Exact paths before templated ones, as aiohttp resolves /api/tickets/meta before /api/tickets/{id}.
        self._operations.sort(key=lambda o: "{" in o.path)

    def check(self, method: str, path: str, status: int, content_type: str, body: bytes) -> None:
        """Raise ContractViolation unless the document declares this response of `method path`."""
        if not path.startswith("/api/") or method.upper() == "HEAD":
            return
        operation = next(
            (o for o in self._operations if o.method == method.upper() and o.pattern.match(path)), None
        )
        where = f"{method.upper()} {path} answered {status}"
        if operation is None:
            # No such route: aiohttp's own 404 or 405, which every path may get.
            if status not in (404, 405):
                raise ContractViolation(f"{where}, but the OpenAPI document has no such operation")
            self._validate(where, body, content_type, "#/components/schemas/ErrorReply")
            return
        declared = operation.responses.get(str(status))
        if declared is None:
            raise ContractViolation(
                f"{where}: status {status} is not declared for {operation.method} {operation.path} "
                f"(declared: {', '.join(sorted(operation.responses))}); body: {body[:300]!r}"
            )
        if "content" not in declared:
            if body:
                raise ContractViolation(f"{where}: the document declares no body, got {body[:300]!r}")
            return
        pointer = "/".join(
            p.replace("~", "~0").replace("/", "~1")
            for p in ("paths", operation.path, method.lower(), "responses", str(status), "content")
        )
        self._validate(where, body, content_type, f"#/{pointer}/application~1json/schema")

    def _validate(self, where: str, body: bytes, content_type: str, pointer: str) -> None:
        if content_type != "application/json":
            raise ContractViolation(f"{where} with Content-Type {content_type!r}, not application/json")
        try:
            data = json.loads(body)
        except ValueError:
            raise ContractViolation(f"{where} with a body that is not JSON: {body[:300]!r}") from None
        validator = self._validators.get(pointer)
        if validator is None:
            validator = self._validators[pointer] = Draft202012Validator(
                {"$ref": f"{_DOCUMENT_URI}{pointer}"},
                registry=self._registry,
                format_checker=Draft202012Validator.FORMAT_CHECKER,
            )
        problems = sorted(validator.iter_errors(data), key=lambda e: list(e.absolute_path))
        if problems:
            lines = "\n".join(f"  at {e.json_path}: {e.message[:300]}" for e in problems[:10])
            raise ContractViolation(f"{where} with a body the OpenAPI document does not allow:\n{lines}")


@dataclass(frozen=True)
class _Received:
    method: str
    path: str
    status: int
    content_type: str
    body: bytes


class CheckedClient(TestClient):  # type: ignore[type-arg]
    """aiohttp's TestClient; every response it receives is checked against the document the server serves.

    The responses are kept as they arrive and checked when the client closes (or on
    `check_responses()`), so the checking adds no delay between a test's requests: the
    application's background work meets them with the timing it always did.
    """

    _contract: Contract | None = None

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._received: list[_Received] = []

    async def _request(self, method: str, path: str | URL, **kwargs: Any) -> ClientResponse:
        response = await super()._request(method, path, **kwargs)
        body = await response.read()
        self._received.append(
            _Received(method, response.url.path, response.status, response.content_type, body)
        )
        return response

    async def check_responses(self) -> None:
        """Check the responses received since the last check; ContractViolation names the first misfit."""
        received, self._received = self._received, []
        if not received:
            return
        contract = await self.contract()
        for r in received:
            contract.check(r.method, r.path, r.status, r.content_type, r.body)

    async def close(self) -> None:
        """Check what was received while the server still answers, then close."""
        try:
            if self.server.started and not self.server.closed:
                await self.check_responses()
        finally:
            await super().close()

    async def contract(self) -> Contract:
        """The contract of the running application (its document, fetched once)."""
        if self._contract is None:
            response = await super()._request("GET", "/api/openapi.json")
            assert response.status == 200, await response.text()
            self._contract = Contract(await response.json())
        return self._contract
