"""Hostile requests against the real application: each a clear 4xx listing what is wrong, never a 500
and never a stored row."""

from __future__ import annotations

from typing import Any

import pytest

from tests.app_fixtures import Web

pytestmark = pytest.mark.db


@pytest.fixture
async def alice(web: Web) -> dict[str, str]:
    await web.agent("alice", interfaces=("Local/1001@agents",))
    return {"Authorization": f"Bearer {await web.token('alice')}"}


async def post_ticket(
    web: Web, headers: dict[str, str], data: bytes, content_type: str = "application/json"
) -> tuple[int, Any]:
    response = await web.client.post(
        "/api/tickets", data=data, headers={**headers, "Content-Type": content_type}
    )
    return response.status, await response.json()


async def nothing_stored(web: Web) -> bool:
    return await web.pool.fetchval("SELECT count(*) FROM tickets") == 0


async def test_one_answer_lists_every_problem_of_a_body(web: Web, alice: dict[str, str]) -> None:
    status, body = await post_ticket(
        web,
        alice,
        b'{"subject": 5, "customer_id": "one", "auto_assign": "yes", "priority": "asap", '
        b'"assignee_id": 9223372036854775808, "contact_email": "a@b.c\\r\\nBcc: x@y.z", "colour": "red"}',
    )
    assert status == 422
    assert body["error_id"] == "validation.failed"
    assert body["details"] == {
        "subject": "text",
        "customer_id": "an id (a positive whole number)",
        "auto_assign": "true or false",
        "priority": "one of low, normal, high, urgent",
        "assignee_id": "an id (a positive whole number)",
        "contact_email": "one line of text, without control characters",
        "colour": "not a member of this body; it takes subject, description, category, priority, channel, "
        "customer_id, contact_name, contact_email, contact_phone, call_id, assignee_id, auto_assign",
    }
    assert body["message"] == "; ".join(f"{member}: {problem}" for member, problem in body["details"].items())
    assert await nothing_stored(web)


@pytest.mark.parametrize(
    ("data", "details"),
    [
        (
            b'{"subject": "x", "category": "billing", "customer_id": 9223372036854775808}',
            {"customer_id": "an id (a positive whole number)"},
        ),
        (
            b'{"subject": "x", "category": "billing", "customer_id": 1' + b"0" * 40 + b"}",
            {"customer_id": "an id (a positive whole number)"},
        ),
        (
            b'{"subject": "x", "category": "billing", "customer_id": 1' + b"0" * 5000 + b"}",
            {"body": "a number in it is out of range"},
        ),
        (
            b'{"subject": "x", "category": "billing", "customer_id": -1}',
            {"customer_id": "an id (a positive whole number)"},
        ),
        (
            b'{"subject": "x", "category": "billing", "customer_id": 1e400}',
            {"body": "a number in it is out of range"},
        ),
        (
            b'{"subject": "x\\u0000", "category": "billing"}',
            {"subject": "text without NUL characters (\\u0000)"},
        ),
        (b'{"subject": "x\x00", "category": "billing"}', {"body": "not valid JSON"}),
        (
            b'{"subject": "x", "category": "billing", "call_id": "\\u0000"}',
            {"call_id": "text without NUL characters (\\u0000)"},
        ),
        (b'{"subject": "\\ud800", "category": "billing"}', {"body": "not valid JSON"}),
        (b'{"subject": "\xe9t\xe9", "category": "billing"}', {"body": "not valid UTF-8"}),
        (b'{"subject": ' + b"[" * 10_000 + b"]" * 10_000 + b"}", {"body": "nested too deeply"}),
        (b"[" * 30_000 + b"]" * 30_000, {"body": "nested too deeply"}),
        (b'{"a":' * 6000 + b"1" + b"}" * 6000, {"body": "nested too deeply"}),
        (b"[]", {"body": "expected a JSON object"}),
        (b"null", {"body": "expected a JSON object"}),
        (b'"a ticket"', {"body": "expected a JSON object"}),
        (b"", {"body": "empty: send a JSON object"}),
        (b"{subject", {"body": "not valid JSON"}),
    ],
)
async def test_hostile_bodies_get_a_422_and_store_nothing(
    web: Web, alice: dict[str, str], data: bytes, details: dict[str, str]
) -> None:
    status, body = await post_ticket(web, alice, data)
    assert (status, body["error_id"], body["details"]) == (422, "validation.failed", details)
    assert await nothing_stored(web)


async def test_a_wrong_content_type_and_an_oversized_body_are_refused(
    web: Web, alice: dict[str, str]
) -> None:
    for content_type in (
        "text/plain",
        "application/x-www-form-urlencoded",
        "multipart/form-data; boundary=x",
    ):
        status, body = await post_ticket(web, alice, b'{"subject": "x", "category": "billing"}', content_type)
        assert (status, body["details"]) == (422, {"body": "send JSON with Content-Type: application/json"})
    status, body = await post_ticket(web, alice, b'{"subject": "' + b"x" * 70_000 + b'"}')
    assert (status, body["error_id"]) == (413, "http.request_entity_too_large")
    assert await nothing_stored(web)


async def test_an_escaped_backslash_before_u0000_is_text_not_a_nul(web: Web, alice: dict[str, str]) -> None:
    status, body = await post_ticket(
        web,
        alice,
        b'{"subject": "C:\\\\u0000", "category": "billing", "contact_name": "A", "contact_phone": "0901234567"}',
    )
    assert status == 201, body
    assert body["ticket"]["subject"] == "C:\\u0000"


@pytest.mark.parametrize(
    ("params", "details"),
    [
        ({"assignee_id": "9223372036854775808"}, {"assignee_id": "an id (a positive whole number)"}),
        ({"customer_id": "1" * 5000}, {"customer_id": "an id (a positive whole number)"}),
        ({"offset": "99999999999999999999"}, {"offset": "a whole number from 0 to 9223372036854775807"}),
        ({"q": "a\x00b"}, {"q": "text without NUL characters (\\u0000)"}),
        ({"category": "a\nb"}, {"category": "one line of text, without control characters"}),
        (
            {"open": "maybe", "limit": "1.5"},
            {"open": "true or false", "limit": "a whole number from 1 to 100"},
        ),
    ],
)
async def test_hostile_query_strings_get_a_422(
    web: Web, alice: dict[str, str], params: dict[str, str], details: dict[str, str]
) -> None:
    response = await web.client.get("/api/tickets", params=params, headers=alice)
    assert response.status == 422
    assert (await response.json())["details"] == details


async def test_query_flags_read_as_before(web: Web, alice: dict[str, str]) -> None:
    for params in ({"mine": "1", "open": "true"}, {"mine": "TRUE", "open": "0"}, {"mine": "", "limit": ""}):
        response = await web.client.get("/api/tickets", params=params, headers=alice)
        assert response.status == 200, await response.text()
        assert (await response.json())["limit"] == 50


async def test_hostile_paths_are_not_found_or_refused(web: Web, alice: dict[str, str]) -> None:
    too_long = await web.client.get("/api/tickets/" + "9" * 19, headers=alice)
    assert (too_long.status, (await too_long.json())["error_id"]) == (404, "http.not_found")
    zero = await web.client.get("/api/tickets/0", headers=alice)
    assert (zero.status, (await zero.json())["error_id"]) == (404, "tickets.not_found")
    campaign = await web.client.post("/api/campaigns/" + "9" * 40 + "/join", headers=alice)
    assert campaign.status == 404
    queue = await web.client.delete("/api/agent/queues/a%00b", headers=alice)
    assert queue.status == 422
    assert (await queue.json())["details"] == {"queue": "text without NUL characters (\\u0000)"}


async def test_the_sign_in_check_comes_before_the_body(web: Web) -> None:
    response = await web.client.post(
        "/api/tickets", data=b"[[[", headers={"Content-Type": "application/json"}
    )
    assert (response.status, (await response.json())["error_id"]) == (401, "auth.required")
