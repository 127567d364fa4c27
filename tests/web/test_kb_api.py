"""The knowledge-base API through aiohttp's test client, on the real application and a real PostgreSQL."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from agents import Role
from hotline.app import SCREEN_POPS
from tests.app_fixtures import Web
from tickets.model import Actor, Channel, NewTicket
from web_agent.app import SERVICES

pytestmark = pytest.mark.db

INVOICE = {
    "title": "Cách xuất hóa đơn điện tử",
    "body": "Vào mục Hóa đơn, chọn Xuất hóa đơn và nhập mã số thuế.",
    "category": "billing",
    "tags": ["invoice"],
    "synonyms": ["xuất VAT"],
    "language": "vi",
    "visibility": "public",
    "sound_file": "hotline/faq-invoice",
}


@dataclass
class Desk:
    web: Web
    tokens: dict[str, str]

    async def call(
        self, method: str, path: str, who: str | None, body: Any = None, **params: str
    ) -> tuple[int, Any]:
        headers = {"Authorization": f"Bearer {self.tokens[who]}"} if who else {}
        response = await self.web.client.request(
            method, path, json=body, headers=headers, params=params or None
        )
        payload = None if response.status == 204 else await response.json()
        return response.status, payload

    async def draft(self, **changes: Any) -> dict[str, Any]:
        status, payload = await self.call("POST", "/api/kb/articles", "alice", {**INVOICE, **changes})
        assert status == 201, payload
        return dict(payload["article"])

    async def published(self, **changes: Any) -> dict[str, Any]:
        article = await self.draft(**changes)
        status, payload = await self.call("POST", f"/api/kb/articles/{article['id']}/publish", "carol")
        assert status == 200, payload
        return dict(payload["article"])


@pytest.fixture
async def desk(web: Web) -> Desk:
    await web.agent("alice")
    await web.agent("carol", Role.SUPERVISOR)
    await web.agent("adam", Role.ADMIN)
    return Desk(web, {name: await web.token(name) for name in ("alice", "carol", "adam")})


def _error(status: int, payload: Any, expected_status: int, error_id: str) -> bool:
    return status == expected_status and payload["error_id"] == error_id and bool(payload["message"])


async def test_an_agent_drafts_a_supervisor_publishes_and_agents_find_it(desk: Desk) -> None:
    article = await desk.draft()
    assert (article["status"], article["version"], article["sound_file"]) == (
        "draft",
        1,
        "hotline/faq-invoice",
    )
    status, payload = await desk.call("GET", "/api/kb/search", "alice", q="hoa don")
    assert (status, payload) == (200, {"hits": []})
    status, payload = await desk.call(
        "POST", f"/api/kb/articles/{article['id']}/publish", "carol", {"version": 1}
    )
    assert (status, payload["article"]["status"], payload["article"]["version"]) == (200, "published", 2)
    status, payload = await desk.call("GET", "/api/kb/search", "alice", q="HOA DON dien tu")
    assert status == 200
    assert [h["article_id"] for h in payload["hits"]] == [article["id"]]
    assert set(payload["hits"][0]) == {
        "article_id",
        "title",
        "body",
        "category",
        "language",
        "visibility",
        "views",
        "score",
    }
    status, payload = await desk.call("GET", f"/api/kb/articles/{article['id']}", "alice")
    assert (status, payload["article"]["title"]) == (200, INVOICE["title"])


async def test_roles_agents_cannot_publish_unpublish_delete_or_edit_live_text(desk: Desk) -> None:
    article = await desk.published()
    path = f"/api/kb/articles/{article['id']}"
    for method, suffix in (("POST", "/publish"), ("POST", "/unpublish"), ("DELETE", "")):
        status, payload = await desk.call(method, path + suffix, "alice")
        assert _error(status, payload, 403, "auth.forbidden"), (method, suffix, payload)
    status, payload = await desk.call("PUT", path, "alice", {**INVOICE, "title": "Sửa"})
    assert _error(status, payload, 403, "kb.review_required"), payload
    status, payload = await desk.call("PUT", path, "adam", {**INVOICE, "title": "Xuất hóa đơn GTGT"})
    assert (status, payload["article"]["title"]) == (200, "Xuất hóa đơn GTGT")
    status, payload = await desk.call("POST", path + "/unpublish", "carol")
    assert (status, payload["article"]["status"]) == (200, "draft")
    status, payload = await desk.call("PUT", path, "alice", {**INVOICE, "title": "Nháp của Alice"})
    assert (status, payload["article"]["title"]) == (200, "Nháp của Alice")
    status, _ = await desk.call("DELETE", path, "adam")
    assert status == 204
    status, payload = await desk.call("GET", path, "alice")
    assert _error(status, payload, 404, "kb.not_found")


async def test_every_kb_route_needs_a_sign_in(desk: Desk) -> None:
    for method, path in (
        ("GET", "/api/kb/articles"),
        ("POST", "/api/kb/articles"),
        ("GET", "/api/kb/search"),
        ("GET", "/api/kb/articles/1"),
        ("PUT", "/api/kb/articles/1"),
        ("DELETE", "/api/kb/articles/1"),
        ("POST", "/api/kb/articles/1/publish"),
        ("POST", "/api/kb/articles/1/unpublish"),
        ("POST", "/api/kb/articles/1/viewed"),
    ):
        status, payload = await desk.call(method, path, None, INVOICE if method in ("POST", "PUT") else None)
        assert _error(status, payload, 401, "auth.required"), (method, path)


async def test_a_stale_version_is_a_conflict_with_the_current_version(desk: Desk) -> None:
    article = await desk.draft()
    path = f"/api/kb/articles/{article['id']}"
    status, _ = await desk.call("PUT", path, "alice", {**INVOICE, "title": "Một", "version": 1})
    assert status == 200
    status, payload = await desk.call("PUT", path, "alice", {**INVOICE, "title": "Hai", "version": 1})
    assert _error(status, payload, 409, "kb.version_conflict")
    assert payload["version"] == 2
    status, payload = await desk.call("DELETE", path, "carol", version="1")
    assert _error(status, payload, 409, "kb.version_conflict")


@pytest.mark.parametrize(
    ("body", "fields"),
    [
        ({}, {"title", "body", "category"}),
        ({**INVOICE, "category": "Billing Dept", "language": "Vietnamese"}, {"category", "language"}),
        ({**INVOICE, "visibility": "everyone"}, {"visibility"}),
        ({**INVOICE, "tags": "invoice"}, {"tags"}),
        ({**INVOICE, "tags": [1, 2]}, {"tags"}),
        ({**INVOICE, "synonyms": ["x"] * 21}, {"synonyms"}),
        ({**INVOICE, "sound_file": "faq\r\nEXEC System(rm -rf /)"}, {"sound_file"}),
        ({**INVOICE, "sound_file": "../../etc/passwd"}, {"sound_file"}),
        ({**INVOICE, "title": ["not", "text"]}, {"title"}),
        ({**INVOICE, "title": "t" * 201}, {"title"}),
        ({**INVOICE, "body": "b" * 20_001}, {"body"}),
        ({**INVOICE, "version": "two"}, {"version"}),
    ],
)
async def test_malformed_articles_are_refused_listing_each_field(
    desk: Desk, body: Any, fields: set[str]
) -> None:
    method, path = (
        ("POST", "/api/kb/articles")
        if "version" not in body
        else ("PUT", f"/api/kb/articles/{(await desk.draft())['id']}")
    )
    status, payload = await desk.call(method, path, "alice", body)
    assert _error(status, payload, 422, "validation.failed"), payload
    assert set(payload["details"]) == fields
    listed, _ = await desk.call("GET", "/api/kb/articles", "alice")
    assert listed == 200


@pytest.mark.parametrize(
    ("content_type", "data"),
    [
        ("application/json", b"{not json"),
        ("application/json", b"[1, 2, 3]"),
        ("application/json", b'"just a string"'),
        ("text/plain", b"title=x"),
        ("application/json", b"\xff\xfe\x00"),
    ],
)
async def test_hostile_bodies_are_refused(desk: Desk, content_type: str, data: bytes) -> None:
    response = await desk.web.client.post(
        "/api/kb/articles",
        data=data,
        headers={"Authorization": f"Bearer {desk.tokens['alice']}", "Content-Type": content_type},
    )
    payload = await response.json()
    assert _error(response.status, payload, 422, "validation.failed"), payload
    assert (await desk.call("GET", "/api/kb/articles", "alice"))[1]["total"] == 0


async def test_an_oversized_body_is_refused_and_nothing_is_stored(desk: Desk) -> None:
    response = await desk.web.client.post(
        "/api/kb/articles",
        json={**INVOICE, "body": "x" * 200_000},
        headers={"Authorization": f"Bearer {desk.tokens['alice']}"},
    )
    assert response.status == 413
    assert (await desk.call("GET", "/api/kb/articles", "alice"))[1]["total"] == 0


@pytest.mark.parametrize(
    "params",
    [{"q": "x" * 201}, {"limit": "0"}, {"limit": "51"}, {"limit": "many"}],
)
async def test_malformed_searches_are_refused(desk: Desk, params: dict[str, str]) -> None:
    status, payload = await desk.call("GET", "/api/kb/search", "alice", **params)
    assert _error(status, payload, 422, "validation.failed"), payload


async def test_the_list_filters_and_pages(desk: Desk) -> None:
    first = await desk.published()
    await desk.draft(title="Mạng chậm", category="technical")
    await desk.draft(title="Quy trình nội bộ", visibility="internal")
    status, payload = await desk.call("GET", "/api/kb/articles", "alice", status="published")
    assert (status, [a["id"] for a in payload["articles"]], payload["total"]) == (200, [first["id"]], 1)
    status, payload = await desk.call("GET", "/api/kb/articles", "alice", visibility="internal")
    assert [a["title"] for a in payload["articles"]] == ["Quy trình nội bộ"]
    status, payload = await desk.call("GET", "/api/kb/articles", "alice", limit="1", offset="1")
    assert (len(payload["articles"]), payload["total"]) == (1, 3)
    status, payload = await desk.call("GET", "/api/kb/articles", "alice", status="archived")
    assert _error(status, payload, 422, "validation.failed")


async def test_agents_find_internal_articles_and_a_read_counts(desk: Desk) -> None:
    internal = await desk.published(title="Hoàn tiền: quy trình nội bộ", visibility="internal")
    status, payload = await desk.call("GET", "/api/kb/search", "alice", q="hoan tien")
    assert [h["article_id"] for h in payload["hits"]] == [internal["id"]]
    status, _ = await desk.call("POST", f"/api/kb/articles/{internal['id']}/viewed", "alice")
    assert status == 204
    status, payload = await desk.call("GET", f"/api/kb/articles/{internal['id']}", "alice")
    assert payload["article"]["views"] == 1
    status, payload = await desk.call("POST", "/api/kb/articles/999999/viewed", "alice")
    assert _error(status, payload, 404, "kb.not_found")


async def test_the_editing_page_is_served(desk: Desk) -> None:
    response = await desk.web.client.get("/kb")
    assert response.status == 200
    assert "Knowledge base" in await response.text()


async def test_pop_suggestions_come_from_the_ivr_choice_first_then_the_open_tickets(desk: Desk) -> None:
    app = desk.web.client.app
    tickets = app[SERVICES].tickets
    billing = await desk.published(title="Hóa đơn tháng này")
    technical = await desk.published(title="Mạng chậm buổi tối", category="technical")
    await desk.published(title="Quy trình nội bộ kỹ thuật", category="technical", visibility="internal")
    pops = app[SCREEN_POPS]
    assert await pops.suggestions(None, None) == ()
    assert [s.article_id for s in await pops.suggestions(None, "billing")] == [billing["id"]]
    customer = await desk.web.pool.fetchval(
        "INSERT INTO customers (customer_no, name, tier) VALUES ('C9', 'Lan', 'standard') RETURNING id"
    )
    new = NewTicket.create(
        subject="Mạng chậm",
        description="",
        category="technical",
        channel=Channel.PHONE,
        categories=tickets.categories,
        customer_id=customer,
    )
    await tickets.open(
        new, Actor.agent(await desk.web.pool.fetchval("SELECT id FROM agents WHERE username = 'alice'"))
    )
    found = await pops.suggestions(customer, "billing")
    # Agents see internal answers too; the IVR choice leads, then the open ticket's category.
    assert [s.category for s in found] == ["billing", "technical", "technical"]
    assert found[0].article_id == billing["id"]
    assert technical["id"] in {s.article_id for s in found}
