"""The customer portal through aiohttp's test client: FAQ, ticket status, new requests, and abuse."""

from __future__ import annotations

from typing import Any

import pytest

from agents import Role
from tests.app_fixtures import Web

pytestmark = pytest.mark.db

CUSTOMER_TICKET_FIELDS = {
    "number",
    "subject",
    "category",
    "status",
    "status_text",
    "opened_at",
    "updated_at",
    "resolution",
}
REQUEST = {
    "name": "Trần Văn Bình",
    "email": "binh@example.com",
    "phone": "0912 345 678",
    "subject": "Hóa đơn tháng 11 bị tính hai lần",
    "description": "Tôi bị trừ tiền hai lần.",
    "category": "billing",
}


async def call(
    web: Web, method: str, path: str, body: Any = None, token: str | None = None, **params: str
) -> tuple[int, Any]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    response = await web.client.request(method, path, json=body, params=params or None, headers=headers)
    return response.status, await response.json()


async def publish(web: Web, token: str, **article: Any) -> int:
    body = {"body": "Câu trả lời.", "category": "billing", **article}
    status, payload = await call(web, "POST", "/api/kb/articles", body, token)
    assert status == 201, payload
    article_id = int(payload["article"]["id"])
    status, payload = await call(web, "POST", f"/api/kb/articles/{article_id}/publish", None, token)
    assert status == 200, payload
    return article_id


@pytest.fixture
async def carol(web: Web) -> str:
    await web.agent("carol", Role.SUPERVISOR)
    return await web.token("carol")


async def open_request(web: Web, **changes: Any) -> dict[str, Any]:
    status, payload = await call(web, "POST", "/api/portal/requests", {**REQUEST, **changes})
    assert status == 201, payload
    return dict(payload["ticket"])


async def test_faq_finds_only_published_public_answers(web: Web, carol: str) -> None:
    public = await publish(web, carol, title="Cách xuất hóa đơn điện tử")
    internal = await publish(web, carol, title="Hóa đơn: quy trình nội bộ", visibility="internal")
    await call(
        web, "POST", "/api/kb/articles", {"title": "Hóa đơn nháp", "body": "x", "category": "billing"}, carol
    )
    status, payload = await call(web, "GET", "/api/portal/faq", q="hoa don")
    assert status == 200
    assert [h["article_id"] for h in payload["hits"]] == [public]
    status, payload = await call(web, "GET", f"/api/portal/faq/{public}")
    assert (status, payload["article"]["title"]) == (200, "Cách xuất hóa đơn điện tử")
    status, payload = await call(web, "GET", f"/api/portal/faq/{internal}")
    assert (status, payload["error_id"]) == (404, "kb.not_found")
    status, payload = await call(web, "GET", "/api/portal/meta")
    assert status == 200
    assert "billing" in payload["categories"]
    assert [h["article_id"] for h in payload["popular"]] == [public]
    assert payload["popular"][0]["views"] == 1


async def test_a_request_opens_a_portal_ticket_and_its_status_is_shown_for_the_right_contact(
    web: Web,
) -> None:
    ticket = await open_request(web)
    assert set(ticket) == CUSTOMER_TICKET_FIELDS
    assert ticket["status"] == "new"
    row = await web.pool.fetchrow(
        "SELECT channel, customer_name, contact_email FROM tickets WHERE id = $1", int(ticket["number"])
    )
    assert dict(row) == {
        "channel": "portal",
        "customer_name": "Trần Văn Bình",
        "contact_email": "binh@example.com",
    }
    for contact in (
        "binh@example.com",
        "BINH@Example.com",
        "0912345678",
        "+84 912 345 678",
        "(091) 234-5678",
    ):
        status, payload = await call(
            web, "POST", "/api/portal/status", {"ticket": ticket["number"], "contact": contact}
        )
        assert status == 200, (contact, payload)
        assert payload["ticket"] == ticket | {"updated_at": payload["ticket"]["updated_at"]}
    status, payload = await call(
        web, "POST", "/api/portal/status", {"ticket": f"#{ticket['number']}", "contact": "binh@example.com"}
    )
    assert status == 200


async def test_a_wrong_pair_gets_exactly_the_answer_of_a_missing_ticket(web: Web) -> None:
    ticket = await open_request(web)
    other = await open_request(web, email="an@example.com", phone="0987 654 321", name="An")
    answers = []
    for number, contact in (
        (ticket["number"], "an@example.com"),  # another customer's email
        (ticket["number"], "0987654321"),  # another customer's phone
        (other["number"], "binh@example.com"),
        (ticket["number"], "5678"),  # a few digits are not a phone
        (ticket["number"], "binh"),
        ("999999", "binh@example.com"),  # no such ticket
    ):
        status, payload = await call(
            web, "POST", "/api/portal/status", {"ticket": number, "contact": contact}
        )
        answers.append((status, payload))
    assert all(answer == answers[-1] for answer in answers), answers
    assert answers[-1][0] == 404
    assert answers[-1][1]["error_id"] == "portal.ticket_not_found"
    assert set(answers[-1][1]) == {"error_id", "message"}


async def test_guessing_ticket_numbers_is_rate_limited_even_for_the_right_pair_after(web: Web) -> None:
    ticket = await open_request(web)
    for guess in range(10):
        status, _ = await call(
            web, "POST", "/api/portal/status", {"ticket": str(1000 + guess), "contact": "binh@example.com"}
        )
        assert status == 404
    response = await web.client.post(
        "/api/portal/status", json={"ticket": ticket["number"], "contact": "binh@example.com"}
    )
    assert response.status == 429
    assert (await response.json())["error_id"] == "auth.rate_limited"
    assert int(response.headers["Retry-After"]) > 0


async def test_new_requests_are_rate_limited_per_address(web: Web) -> None:
    for _ in range(5):
        await open_request(web)
    status, payload = await call(web, "POST", "/api/portal/requests", REQUEST)
    assert (status, payload["error_id"]) == (429, "auth.rate_limited")
    assert await web.pool.fetchval("SELECT count(*) FROM tickets") == 5


async def test_faq_searches_are_rate_limited_per_address(web: Web) -> None:
    for _ in range(120):
        status, _ = await call(web, "GET", "/api/portal/faq", q="hoa don")
        assert status == 200
    status, payload = await call(web, "GET", "/api/portal/faq", q="hoa don")
    assert (status, payload["error_id"]) == (429, "auth.rate_limited")


@pytest.mark.parametrize(
    ("body", "fields"),
    [
        ({}, {"name", "email", "subject", "category"}),
        ({**REQUEST, "email": None, "phone": None}, {"email"}),
        ({**REQUEST, "name": "Bình\r\nBcc: all@example.com"}, {"name"}),
        ({**REQUEST, "email": "binh@example.com\r\nBcc: x@example.com"}, {"email"}),
        ({**REQUEST, "email": "not an email"}, {"email"}),
        ({**REQUEST, "phone": "call me maybe"}, {"phone"}),
        ({**REQUEST, "category": "lottery"}, {"category"}),
        ({**REQUEST, "subject": "s" * 401}, {"subject"}),
        ({**REQUEST, "subject": "s" * 201}, {"subject"}),
        ({**REQUEST, "description": "d" * 10_001}, {"description"}),
        ({**REQUEST, "name": 42}, {"name"}),
    ],
)
async def test_malformed_requests_are_refused_and_nothing_is_opened(
    web: Web, body: Any, fields: set[str]
) -> None:
    status, payload = await call(web, "POST", "/api/portal/requests", body)
    assert (status, payload["error_id"]) == (422, "validation.failed"), payload
    assert set(payload["details"]) == fields
    assert await web.pool.fetchval("SELECT count(*) FROM tickets") == 0


@pytest.mark.parametrize(
    ("body", "fields"),
    [
        ({}, {"ticket", "contact"}),
        ({"ticket": "12a", "contact": "x@example.com"}, {"ticket"}),
        ({"ticket": "9" * 30, "contact": "x@example.com"}, {"ticket"}),
        ({"ticket": "１２", "contact": "x@example.com"}, {"ticket"}),
        ({"ticket": 12, "contact": "x@example.com"}, {"ticket"}),
        ({"ticket": "12", "contact": "x@example.com\r\n"}, {"contact"}),
        ({"ticket": "12", "contact": "x" * 255}, {"contact"}),
    ],
)
async def test_malformed_lookups_are_refused(web: Web, body: Any, fields: set[str]) -> None:
    status, payload = await call(web, "POST", "/api/portal/status", body)
    assert (status, payload["error_id"]) == (422, "validation.failed"), payload
    assert set(payload["details"]) == fields


@pytest.mark.parametrize(
    ("content_type", "data"),
    [
        ("application/json", b"{"),
        ("application/json", b"[]"),
        ("text/plain", b"ticket=1"),
        ("application/json", b"\xff"),
    ],
)
async def test_hostile_bodies_are_refused(web: Web, content_type: str, data: bytes) -> None:
    for path in ("/api/portal/status", "/api/portal/requests"):
        response = await web.client.post(path, data=data, headers={"Content-Type": content_type})
        assert response.status == 422
        assert (await response.json())["error_id"] == "validation.failed"


async def test_an_oversized_request_is_refused(web: Web) -> None:
    response = await web.client.post("/api/portal/requests", json={**REQUEST, "description": "x" * 200_000})
    assert response.status == 413
    assert await web.pool.fetchval("SELECT count(*) FROM tickets") == 0


async def test_the_portal_page_is_served_without_login(web: Web) -> None:
    response = await web.client.get("/portal")
    assert response.status == 200
    assert "portal.js" in await response.text()
