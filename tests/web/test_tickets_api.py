"""The tickets REST API through aiohttp's test client, on the real application and a real PostgreSQL."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import asyncpg
import pytest

from agents import Role
from tests.app_fixtures import Web
from tests.conftest import eventually
from tickets.errors import NoticeDeliveryError
from web_agent.app import SERVICES

pytestmark = pytest.mark.db

CONFIRM_FIELDS = {"number", "subject", "resolution", "customer_name", "resolved_at"}


@dataclass
class Center:
    """The application with agents alice and bob (handlers), dave (no handler profile), supervisor carol,
    and customers Jane (vip, with email) and Sam (standard, phone only)."""

    web: Web
    ids: dict[str, int]
    tokens: dict[str, str]
    jane: int
    sam: int

    async def call(
        self, method: str, path: str, who: str | None, body: Any = None, **params: str
    ) -> tuple[int, Any]:
        headers = {"Authorization": f"Bearer {self.tokens[who]}"} if who else {}
        response = await self.web.client.request(
            method, path, json=body, headers=headers, params=params or None
        )
        payload = None if response.status == 204 else await response.json()
        return response.status, payload

    async def open_ticket(self, who: str = "alice", **fields: Any) -> dict[str, Any]:
        body = {"subject": "Invoice twice", "category": "billing", "customer_id": self.jane, **fields}
        status, payload = await self.call("POST", "/api/tickets", who, body)
        assert status == 201, payload
        return dict(payload["ticket"])

    async def act(self, ticket_id: int, action: str, who: str, body: Any) -> tuple[int, Any]:
        return await self.call("POST", f"/api/tickets/{ticket_id}/{action}", who, body)

    async def confirm_token(self, ticket_id: int) -> str:
        body = await self.web.pool.fetchval(
            "SELECT body FROM ticket_notices WHERE ticket_id = $1 ORDER BY id DESC LIMIT 1", ticket_id
        )
        match = re.search(r"/confirm#([A-Za-z0-9_-]+)", body)
        assert match, body
        return match.group(1)


@pytest.fixture
async def center(web: Web) -> Center:
    ids: dict[str, int] = {}
    tokens: dict[str, str] = {}
    for name, role in (
        ("alice", Role.AGENT),
        ("bob", Role.AGENT),
        ("dave", Role.AGENT),
        ("carol", Role.SUPERVISOR),
    ):
        ids[name] = (await web.agent(name, role=role)).id
        tokens[name] = await web.token(name)
    jane = await web.pool.fetchval(
        "INSERT INTO customers (customer_no, name, tier, email)"
        " VALUES ('C1', 'Jane Doe', 'vip', 'jane@example.com') RETURNING id"
    )
    sam = await web.pool.fetchval(
        "INSERT INTO customers (customer_no, name, tier) VALUES ('C2', 'Sam Lee', 'standard') RETURNING id"
    )
    await web.pool.execute(
        "INSERT INTO customer_phones (phone, customer_id) VALUES ('+84901111222', $1)", sam
    )
    center = Center(web, ids, tokens, jane, sam)
    for name, department, skills in (
        ("alice", "support", ["billing", "technical"]),
        ("bob", "billing desk", ["billing"]),
    ):
        status, _ = await center.call(
            "PUT",
            f"/api/handlers/{ids[name]}",
            "carol",
            {"department": department, "skills": skills, "capacity": 5},
        )
        assert status == 204
    return center


def _is_error(status: int, payload: Any, expected_status: int, error_id: str) -> bool:
    return status == expected_status and payload["error_id"] == error_id and bool(payload["message"])


async def test_the_whole_flow_from_intake_to_the_customers_confirmation(center: Center) -> None:
    ids = center.ids
    # bob already holds one open ticket, so alice has the most room.
    earlier = await center.open_ticket(subject="Older", assignee_id=ids["bob"])
    assert earlier["assignee"] == {"id": ids["bob"], "name": "Bob"}

    status, options = await center.call("GET", "/api/tickets/suggestions", "alice", category="billing")
    assert status == 200
    assert options["category"] == "billing"
    assert [(h["agent_id"], h["open"], h["room"]) for h in options["handlers"]] == [
        (ids["alice"], 0, 5),
        (ids["bob"], 1, 4),
    ]
    assert options["best"]["agent_id"] == ids["alice"]
    assert options["best"]["name"] == "Alice"
    assert {d["department"]: d["open"] for d in options["departments"]} == {"support": 0, "billing desk": 1}

    ticket = await center.open_ticket(
        subject="Charged twice for November",
        description="Two debits on the 3rd",
        priority="high",
        call_id="9.1",
    )
    assert (ticket["status"], ticket["priority"], ticket["channel"], ticket["call_id"]) == (
        "new",
        "high",
        "phone",
        "9.1",
    )
    assert ticket["customer"]["name"] == "Jane Doe"
    assert ticket["customer"]["top_tier"] is True
    assert ticket["sla"]["first_response_due"] is not None
    tid = ticket["id"]

    status, body = await center.act(
        tid, "assign", "alice", {"assignee_id": ids["bob"], "note": "billing expert"}
    )
    assert status == 200, body
    assert (body["ticket"]["status"], body["ticket"]["assignee"]["id"]) == ("assigned", ids["bob"])
    version = body["ticket"]["version"]

    status, body = await center.act(tid, "respond", "bob", {"note": "Looking at it now", "version": version})
    assert (status, body["ticket"]["status"]) == (200, "in_progress")
    assert body["ticket"]["sla"]["first_responded_at"] is not None
    status, body = await center.act(tid, "wait", "bob", {"note": "Need the bank statement"})
    assert (status, body["ticket"]["status"]) == (200, "waiting")
    assert body["ticket"]["sla"]["paused_since"] is not None
    status, body = await center.act(tid, "resume", "bob", {})
    assert (status, body["ticket"]["status"]) == (200, "in_progress")
    assert body["ticket"]["sla"]["paused_since"] is None
    status, body = await center.act(tid, "resolve", "bob", {"resolution": "Refunded the second debit"})
    assert (status, body["ticket"]["status"]) == (200, "resolved")
    assert body["ticket"]["resolution"] == "Refunded the second debit"

    status, detail = await center.call("GET", f"/api/tickets/{tid}", "alice")
    assert status == 200
    assert [e["action"] for e in detail["entries"]] == [
        "open",
        "assign",
        "respond",
        "wait",
        "resume",
        "resolve",
    ]
    assert [(e["from"], e["to"]) for e in detail["entries"][1:3]] == [
        ("new", "assigned"),
        ("assigned", "in_progress"),
    ]
    assert detail["entries"][0]["actor"] == {"kind": "agent", "id": ids["alice"], "name": "Alice"}
    assert detail["entries"][2]["customer_visible"] is True
    [notice] = detail["notices"]
    assert (notice["kind"], notice["channel"], notice["recipient"]) == (
        "service_completed",
        "email",
        "jane@example.com",
    )
    assert notice["status"] in ("pending", "sent")

    token = await center.confirm_token(tid)
    status, looked = await center.call("POST", "/api/confirm/lookup", None, {"token": token})
    assert status == 200
    assert looked["ticket"]["number"] == str(tid)
    assert looked["ticket"]["resolution"] == "Refunded the second debit"
    status, answered = await center.call("POST", "/api/confirm", None, {"token": token, "accepted": True})
    assert (status, answered) == (200, {"status": "closed"})
    status, detail = await center.call("GET", f"/api/tickets/{tid}", "alice")
    assert detail["ticket"]["status"] == "closed"
    assert detail["entries"][-1]["actor"] == {"kind": "customer", "id": None, "name": None}
    # A used link is spent.
    status, gone = await center.call("POST", "/api/confirm/lookup", None, {"token": token})
    assert _is_error(status, gone, 404, "tickets.confirmation_invalid")


async def test_auto_assignment_and_comments(center: Center) -> None:
    ticket = await center.open_ticket(auto_assign=True)
    assert ticket["status"] == "assigned"
    assert ticket["assignee"]["id"] == center.ids["alice"]
    assert ticket["department"] == "support"
    status, body = await center.call(
        "POST",
        f"/api/tickets/{ticket['id']}/comments",
        "bob",
        {"body": "Customer called again", "customer_visible": True},
    )
    assert status == 201
    assert (body["entry"]["action"], body["entry"]["note"], body["entry"]["customer_visible"]) == (
        "comment",
        "Customer called again",
        True,
    )
    assert body["entry"]["actor"]["name"] == "Bob"
    # Auto-assigning again weighs the workload: alice now holds one ticket, bob none.
    status, moved = await center.act(ticket["id"], "assign", "carol", {})
    assert (status, moved["ticket"]["assignee"]["id"]) == (200, center.ids["bob"])
    status, meta = await center.call("GET", "/api/tickets/meta", "dave")
    assert status == 200
    assert meta["categories"] == ["billing", "technical", "account", "delivery", "other"]
    assert meta["priorities"] == ["low", "normal", "high", "urgent"]
    assert "phone" in meta["channels"]
    assert "reopened" in meta["statuses"]


async def test_a_reopen_goes_back_to_the_handler_and_shows_in_the_report(center: Center) -> None:
    ticket = await center.open_ticket(assignee_id=center.ids["bob"])
    tid = ticket["id"]
    assert (await center.act(tid, "resolve", "bob", {"resolution": "Refunded"}))[0] == 200
    token = await center.confirm_token(tid)
    status, missing_note = await center.call(
        "POST", "/api/confirm", None, {"token": token, "accepted": False}
    )
    assert _is_error(status, missing_note, 422, "validation.failed")
    assert missing_note["details"] == {"note": "required"}
    status, answered = await center.call(
        "POST", "/api/confirm", None, {"token": token, "accepted": False, "note": "Still charged twice"}
    )
    assert (status, answered) == (200, {"status": "reopened"})
    status, body = await center.call("GET", f"/api/tickets/{tid}", "bob")
    assert (body["ticket"]["status"], body["ticket"]["reopen_count"]) == ("reopened", 1)
    assert body["ticket"]["assignee"]["id"] == center.ids["bob"]

    # An agent records an acceptance on the phone: any agent may, not only the handler.
    assert (await center.act(tid, "resolve", "bob", {"resolution": "Refunded again"}))[0] == 200
    status, closed = await center.act(tid, "confirm", "alice", {"note": "Jane confirmed on the phone"})
    assert (status, closed["ticket"]["status"]) == (200, "closed")

    status, report = await center.call("GET", "/api/reports/reopens", "carol", days="7")
    assert status == 200
    assert report["since"]
    assert report["rows"] == [
        {
            "assignee": {"id": center.ids["bob"], "name": "Bob"},
            "category": "billing",
            "resolved": 2,
            "reopened": 1,
            "reopen_rate": 0.5,
        }
    ]
    status, bad = await center.call("GET", "/api/reports/reopens", "carol", days="0")
    assert _is_error(status, bad, 422, "validation.failed")
    assert "days" in bad["details"]


async def test_agents_reopen_with_a_note(center: Center) -> None:
    ticket = await center.open_ticket(assignee_id=center.ids["alice"])
    await center.act(ticket["id"], "resolve", "alice", {"resolution": "Done"})
    status, body = await center.act(ticket["id"], "reopen", "bob", {})
    assert _is_error(status, body, 422, "validation.failed")
    assert body["details"] == {"note": "required"}
    status, body = await center.act(ticket["id"], "reopen", "bob", {"note": "Customer says it is not fixed"})
    assert (status, body["ticket"]["status"]) == (200, "reopened")


async def test_an_illegal_transition_is_refused_with_what_is_allowed(center: Center) -> None:
    ticket = await center.open_ticket(assignee_id=center.ids["alice"])
    status, body = await center.act(ticket["id"], "resume", "alice", {})
    assert _is_error(status, body, 409, "tickets.illegal_transition")
    assert body["status"] == "assigned"
    assert body["allowed"] == ["assign", "respond", "resolve"]
    await center.act(ticket["id"], "resolve", "alice", {"resolution": "Done"})
    await center.act(ticket["id"], "confirm", "alice", {})
    status, body = await center.act(ticket["id"], "reopen", "alice", {"note": "again"})
    assert _is_error(status, body, 409, "tickets.illegal_transition")
    assert (body["status"], body["allowed"]) == ("closed", [])


async def test_a_stale_version_is_a_conflict_and_nothing_is_written(center: Center) -> None:
    ticket = await center.open_ticket(assignee_id=center.ids["alice"])
    read = ticket["version"]
    status, body = await center.act(ticket["id"], "respond", "alice", {"note": "On it", "version": read})
    assert status == 200
    status, body = await center.act(
        ticket["id"], "resolve", "alice", {"resolution": "Fixed", "version": read}
    )
    assert _is_error(status, body, 409, "tickets.version_conflict")
    assert body["version"] == read + 1
    status, detail = await center.call("GET", f"/api/tickets/{ticket['id']}", "alice")
    assert (detail["ticket"]["status"], detail["ticket"]["version"]) == ("in_progress", read + 1)


async def test_only_the_handler_or_a_supervisor_works_a_ticket(center: Center) -> None:
    ticket = await center.open_ticket(assignee_id=center.ids["alice"])
    status, body = await center.act(ticket["id"], "respond", "bob", {"note": "Mine now"})
    assert _is_error(status, body, 403, "tickets.not_yours")
    status, body = await center.act(ticket["id"], "assign", "bob", {"assignee_id": center.ids["bob"]})
    assert _is_error(status, body, 403, "tickets.not_yours")
    status, body = await center.act(ticket["id"], "respond", "carol", {"note": "Supervisor here"})
    assert (status, body["ticket"]["status"]) == (200, "in_progress")
    status, body = await center.act(ticket["id"], "assign", "carol", {"assignee_id": center.ids["bob"]})
    assert (status, body["ticket"]["assignee"]["id"]) == (200, center.ids["bob"])


@pytest.mark.parametrize(
    ("path", "body", "status", "error_id"),
    [
        ("/api/tickets/999999/respond", {"note": "x"}, 404, "tickets.not_found"),
        ("/api/tickets/999999/comments", {"body": "x"}, 404, "tickets.not_found"),
        ("{ticket}/assign", {"assignee_id": "{dave}"}, 422, "tickets.unknown_handler"),
        ("{ticket}/assign", {"assignee_id": 999999}, 422, "tickets.unknown_handler"),
        ("/api/confirm/lookup", {"token": "forged"}, 404, "tickets.confirmation_invalid"),
        ("/api/confirm", {"token": "forged", "accepted": True}, 404, "tickets.confirmation_invalid"),
    ],
)
async def test_domain_errors_get_their_stable_error_id(
    center: Center, path: str, body: dict[str, Any], status: int, error_id: str
) -> None:
    ticket = await center.open_ticket()
    path = path.replace("{ticket}", f"/api/tickets/{ticket['id']}")
    body = {k: center.ids["dave"] if v == "{dave}" else v for k, v in body.items()}
    got, payload = await center.call("POST", path, "carol", body)
    assert _is_error(got, payload, status, error_id), payload


async def test_not_found_ticket_and_customer(center: Center) -> None:
    status, body = await center.call("GET", "/api/tickets/424242", "alice")
    assert _is_error(status, body, 404, "tickets.not_found")
    status, body = await center.call("GET", "/api/customers/424242", "alice")
    assert _is_error(status, body, 404, "customers.not_found")
    status, body = await center.call("GET", "/api/tickets/1234567890123456789012", "alice")
    assert status == 404


async def test_nobody_with_room_is_a_conflict_and_the_ticket_waits_in_the_queue(center: Center) -> None:
    ticket = await center.open_ticket(category="delivery", auto_assign=True)
    assert (ticket["status"], ticket["assignee"]) == ("new", None)
    status, body = await center.act(ticket["id"], "assign", "alice", {"assignee_id": None})
    assert _is_error(status, body, 409, "tickets.no_handler_available")


async def test_an_unexpected_tickets_error_is_a_generic_conflict(
    center: Center, monkeypatch: pytest.MonkeyPatch
) -> None:
    service = center.web.client.app[SERVICES].tickets

    async def failing(ticket_id: int) -> None:
        raise NoticeDeliveryError("email", "relay refused")

    monkeypatch.setattr(service, "detail", failing)
    status, body = await center.call("GET", "/api/tickets/1", "alice")
    assert _is_error(status, body, 409, "tickets.conflict")


async def test_a_deadlock_undone_by_postgresql_asks_the_client_to_try_again(
    center: Center, monkeypatch: pytest.MonkeyPatch
) -> None:
    service = center.web.client.app[SERVICES].tickets

    async def deadlocked(ticket_id: int) -> None:
        raise asyncpg.DeadlockDetectedError("deadlock detected")

    monkeypatch.setattr(service, "detail", deadlocked)
    status, body = await center.call("GET", "/api/tickets/1", "alice")
    assert _is_error(status, body, 409, "service.retry")
    assert "nothing was saved" in body["message"]


async def test_hostile_bodies_are_refused_with_details(center: Center) -> None:
    client, auth = center.web.client, {"Authorization": f"Bearer {center.tokens['alice']}"}
    not_json = await client.post(
        "/api/tickets", data=b"{subject", headers={**auth, "Content-Type": "application/json"}
    )
    assert not_json.status == 422
    assert (await not_json.json())["details"] == {"body": "not valid JSON"}
    status, body = await center.call("POST", "/api/tickets", "alice", ["subject"])
    assert (status, body["details"]) == (422, {"body": "expected a JSON object"})
    status, body = await center.call(
        "POST",
        "/api/tickets",
        "alice",
        {
            "subject": 5,
            "category": "billing",
            "customer_id": "one",
            "auto_assign": "yes",
            "priority": "asap",
            "assignee_id": True,
        },
    )
    assert _is_error(status, body, 422, "validation.failed")
    assert set(body["details"]) == {"subject", "customer_id", "auto_assign", "priority", "assignee_id"}
    assert body["details"]["priority"] == "one of low, normal, high, urgent"
    status, body = await center.call(
        "POST",
        "/api/tickets",
        "alice",
        {"subject": "Help", "category": "hovercraft", "customer_id": center.jane},
    )
    assert _is_error(status, body, 422, "validation.failed")
    assert body["details"] == {"category": "one of billing, technical, account, delivery, other"}
    status, body = await center.call("POST", "/api/tickets", "alice", {"subject": " ", "category": "billing"})
    assert set(body["details"]) == {"subject", "customer_id"}
    status, body = await center.call(
        "POST", "/api/tickets", "alice", {"subject": "x", "category": "billing", "customer_id": 424242}
    )
    assert _is_error(status, body, 422, "validation.failed")
    assert "customer_id" in body["details"]

    status, body = await center.call(
        "POST",
        "/api/tickets",
        "alice",
        {
            "subject": "x",
            "category": "billing",
            "contact_email": "a@b.c\r\nBcc: all@b.c",
            "contact_name": "A\nB",
        },
    )
    assert _is_error(status, body, 422, "validation.failed")
    assert set(body["details"]) == {"contact_email", "contact_name"}

    ticket = await center.open_ticket(assignee_id=center.ids["alice"])
    status, body = await center.act(ticket["id"], "respond", "alice", {"note": "x" * 10_001})
    assert _is_error(status, body, 422, "validation.failed")
    assert body["details"] == {"note": "at most 10000 characters"}
    status, body = await center.act(ticket["id"], "respond", "alice", {"note": "ok", "version": "1"})
    assert "version" in body["details"]
    status, body = await center.act(ticket["id"], "respond", "alice", {"note": ["x"]})
    assert body["details"] == {"note": "text"}
    status, body = await center.call("GET", "/api/tickets/suggestions", "alice")
    assert _is_error(status, body, 422, "validation.failed")
    assert "category" in body["details"]
    status, body = await center.call("POST", "/api/confirm", None, {"token": 7, "accepted": "yes"})
    assert set(body["details"]) == {"token", "accepted"}
    status, detail = await center.call("GET", f"/api/tickets/{ticket['id']}", "alice")
    assert (detail["ticket"]["status"], len(detail["entries"])) == ("assigned", 2)


@pytest.mark.parametrize(
    ("params", "fields"),
    [
        ({"limit": "0"}, {"limit"}),
        ({"limit": "101", "offset": "-1"}, {"limit", "offset"}),
        ({"status": "new,bogus"}, {"status"}),
        ({"mine": "maybe", "customer_id": "abc", "priority": "asap"}, {"mine", "customer_id", "priority"}),
        ({"q": "x" * 201}, {"q"}),
        ({"mine": "1", "assignee_id": "424242"}, {"assignee_id"}),
    ],
)
async def test_bad_list_filters_are_refused_per_field(
    center: Center, params: dict[str, str], fields: set[str]
) -> None:
    status, body = await center.call("GET", "/api/tickets", "alice", **params)
    assert _is_error(status, body, 422, "validation.failed")
    assert set(body["details"]) == fields


async def test_top_tier_customers_come_first_and_pages_add_up(center: Center) -> None:
    standard = [await center.open_ticket(customer_id=center.sam, subject=f"Standard {i}") for i in range(3)]
    vip = await center.open_ticket(subject="VIP one", priority="low")
    status, body = await center.call("GET", "/api/tickets", "alice")
    assert status == 200
    assert body["tickets"][0]["id"] == vip["id"]
    assert (body["total"], body["limit"], body["offset"]) == (4, 50, 0)

    first = (await center.call("GET", "/api/tickets", "alice", limit="2"))[1]
    second = (await center.call("GET", "/api/tickets", "alice", limit="2", offset="2"))[1]
    beyond = (await center.call("GET", "/api/tickets", "alice", limit="2", offset="10"))[1]
    assert [len(p["tickets"]) for p in (first, second, beyond)] == [2, 2, 0]
    assert first["total"] == second["total"] == beyond["total"] == 4
    seen = [t["id"] for t in first["tickets"] + second["tickets"]]
    assert sorted(seen) == sorted([vip["id"], *(t["id"] for t in standard)])

    only_top = (await center.call("GET", "/api/tickets", "alice", top_tier="1"))[1]
    assert [t["id"] for t in only_top["tickets"]] == [vip["id"]]
    await center.act(standard[1]["id"], "assign", "carol", {"assignee_id": center.ids["alice"]})
    mine = (await center.call("GET", "/api/tickets", "alice", mine="1"))[1]
    assert [t["id"] for t in mine["tickets"]] == [standard[1]["id"]]
    unassigned = (
        await center.call("GET", "/api/tickets", "alice", unassigned="1", customer_id=str(center.sam))
    )[1]
    assert {t["id"] for t in unassigned["tickets"]} == {standard[0]["id"], standard[2]["id"]}
    by_status = (await center.call("GET", "/api/tickets", "alice", status="assigned,resolved"))[1]
    assert [t["id"] for t in by_status["tickets"]] == [standard[1]["id"]]
    found = (await center.call("GET", "/api/tickets", "alice", q="standard 2"))[1]
    assert [t["id"] for t in found["tickets"]] == [standard[2]["id"]]
    by_number = (await center.call("GET", "/api/tickets", "alice", q=str(vip["id"])))[1]
    assert [t["id"] for t in by_number["tickets"]] == [vip["id"]]
    low = (await center.call("GET", "/api/tickets", "alice", priority="low", category="billing", open="1"))[1]
    assert [t["id"] for t in low["tickets"]] == [vip["id"]]


async def test_the_customer_page_has_the_timeline_and_open_tickets_first(center: Center) -> None:
    done = await center.open_ticket(subject="Old problem", assignee_id=center.ids["alice"])
    await center.act(done["id"], "resolve", "alice", {"resolution": "Fixed"})
    await center.act(done["id"], "confirm", "alice", {})
    still_open = await center.open_ticket(subject="New problem")

    async def timeline_written() -> bool:
        status, page = await center.call("GET", f"/api/customers/{center.jane}", "dave")
        return status == 200 and len(page["timeline"]) == 4

    await eventually(timeline_written)
    status, page = await center.call("GET", f"/api/customers/{center.jane}", "dave")
    assert (page["customer"]["name"], page["customer"]["tier"]) == ("Jane Doe", "vip")
    assert [t["id"] for t in page["tickets"]] == [still_open["id"], done["id"]]
    summaries = [entry["summary"] for entry in page["timeline"]]
    assert summaries[0] == f"Ticket #{still_open['id']} opened (billing, normal): New problem"
    assert all(entry["channel"] == "ticket" for entry in page["timeline"])
    stamps = [entry["occurred_at"] for entry in page["timeline"]]
    assert stamps == sorted(stamps, reverse=True)
    status, other = await center.call("GET", f"/api/customers/{center.sam}", "alice")
    assert (status, other["tickets"], other["timeline"]) == (200, [], [])


async def test_the_confirm_link_shows_nothing_internal_and_guessing_is_rate_limited(center: Center) -> None:
    ticket = await center.open_ticket(
        assignee_id=center.ids["bob"], description="INTERNAL: customer is difficult"
    )
    await center.call(
        "POST",
        f"/api/tickets/{ticket['id']}/comments",
        "bob",
        {"body": "INTERNAL note", "customer_visible": False},
    )
    await center.act(ticket["id"], "resolve", "bob", {"resolution": "Refunded"})
    token = await center.confirm_token(ticket["id"])
    status, looked = await center.call("POST", "/api/confirm/lookup", None, {"token": token})
    assert status == 200
    assert set(looked) == {"ticket"}
    assert set(looked["ticket"]) == CONFIRM_FIELDS
    assert looked["ticket"]["customer_name"] == "Jane Doe"
    assert "INTERNAL" not in str(looked)
    assert "jane@example.com" not in str(looked)

    for attempt in range(20):
        status, body = await center.call("POST", "/api/confirm/lookup", None, {"token": f"guess-{attempt}"})
        assert _is_error(status, body, 404, "tickets.confirmation_invalid")
    response = await center.web.client.post("/api/confirm/lookup", json={"token": token})
    assert response.status == 429
    assert int(response.headers["Retry-After"]) > 0
    assert (await response.json())["error_id"] == "auth.rate_limited"
    status, body = await center.call("POST", "/api/confirm", None, {"token": token, "accepted": True})
    assert _is_error(status, body, 429, "auth.rate_limited")
    status, detail = await center.call("GET", f"/api/tickets/{ticket['id']}", "bob")
    assert detail["ticket"]["status"] == "resolved"


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/api/tickets"),
        ("POST", "/api/tickets"),
        ("GET", "/api/tickets/meta"),
        ("GET", "/api/tickets/1"),
        ("POST", "/api/tickets/1/resolve"),
        ("POST", "/api/tickets/1/comments"),
        ("GET", "/api/tickets/suggestions"),
        ("GET", "/api/handlers"),
        ("PUT", "/api/handlers/1"),
        ("GET", "/api/reports/reopens"),
        ("GET", "/api/customers/1"),
    ],
)
async def test_ticket_routes_need_a_signed_in_agent(center: Center, method: str, path: str) -> None:
    for headers in ({}, {"Authorization": "Bearer forged"}):
        response = await center.web.client.request(method, path, json={}, headers=headers)
        assert response.status == 401
        assert (await response.json())["error_id"] == "auth.required"


async def test_handlers_and_reports_are_for_supervisors(center: Center) -> None:
    await center.open_ticket(assignee_id=center.ids["bob"])
    for method, path in (("GET", "/api/handlers"), ("GET", "/api/reports/reopens")):
        status, body = await center.call(method, path, "alice")
        assert _is_error(status, body, 403, "auth.forbidden")
    status, body = await center.call(
        "PUT", f"/api/handlers/{center.ids['alice']}", "bob", {"department": "x", "skills": [], "capacity": 1}
    )
    assert _is_error(status, body, 403, "auth.forbidden")

    status, body = await center.call("GET", "/api/handlers", "carol")
    assert status == 200
    assert [
        (h["name"], h["department"], h["skills"], h["capacity"], h["open"]) for h in body["handlers"]
    ] == [
        ("Alice", "support", ["billing", "technical"], 5, 0),
        ("Bob", "billing desk", ["billing"], 5, 1),
    ]
    status, body = await center.call(
        "PUT",
        f"/api/handlers/{center.ids['dave']}",
        "carol",
        {"department": "", "skills": ["hovercraft"], "capacity": 5000},
    )
    assert _is_error(status, body, 422, "validation.failed")
    assert set(body["details"]) == {"department", "skills", "capacity"}
    status, body = await center.call(
        "PUT", f"/api/handlers/{center.ids['dave']}", "carol", {"skills": "billing"}
    )
    assert set(body["details"]) == {"skills", "capacity"}
    status, body = await center.call(
        "PUT", "/api/handlers/424242", "carol", {"department": "x", "skills": ["billing"], "capacity": 1}
    )
    assert _is_error(status, body, 422, "validation.failed")
    assert "agent_id" in body["details"]
    status, _ = await center.call(
        "PUT",
        f"/api/handlers/{center.ids['dave']}",
        "carol",
        {"department": "field", "skills": ["delivery"], "capacity": 2},
    )
    assert status == 204
    status, options = await center.call("GET", "/api/tickets/suggestions", "dave", category="delivery")
    assert options["best"]["agent_id"] == center.ids["dave"]


async def test_the_confirm_page_is_served_without_login(web: Web) -> None:
    response = await web.client.get("/confirm")
    assert response.status == 200
    assert response.content_type == "text/html"
    assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]
