"""The OpenAPI 3.1 document of every /api route, as data (served at GET /api/openapi.json).

tests/web/test_tickets_api.py walks the application's router and fails when a route or method
is missing here, so the document cannot silently fall behind the code.
"""

from __future__ import annotations

from typing import Any

from tickets import Channel, Priority, TicketStatus

Schema = dict[str, Any]

_STR: Schema = {"type": "string"}
_OPT_STR: Schema = {"type": ["string", "null"]}
_INT: Schema = {"type": "integer"}
_OPT_INT: Schema = {"type": ["integer", "null"]}
_BOOL: Schema = {"type": "boolean"}
_NUMBER: Schema = {"type": "number"}
_OPT_NUMBER: Schema = {"type": ["number", "null"]}
_TIME: Schema = {"type": "string", "format": "date-time"}
_OPT_TIME: Schema = {"type": ["string", "null"], "format": "date-time"}


def _ref(name: str) -> Schema:
    return {"$ref": f"#/components/schemas/{name}"}


def _obj(properties: dict[str, Schema], required: tuple[str, ...] | None = None) -> Schema:
    """An object schema; every property is required unless `required` says which are."""
    return {
        "type": "object",
        "properties": properties,
        "required": list(properties if required is None else required),
    }


def _array(items: Schema) -> Schema:
    return {"type": "array", "items": items}


def _enum(values: list[str]) -> Schema:
    return {"type": "string", "enum": values}


def _ok(description: str, schema: Schema | None = None, status: str = "200") -> dict[str, Any]:
    response: dict[str, Any] = {"description": description}
    if schema is not None:
        response["content"] = {"application/json": {"schema": schema}}
    return {status: response}


def _errors(*statuses: str) -> dict[str, Any]:
    return {status: {"$ref": f"#/components/responses/{_ERROR_RESPONSES[status]}"} for status in statuses}


def _body(schema: Schema) -> dict[str, Any]:
    return {"required": True, "content": {"application/json": {"schema": schema}}}


def _query(name: str, schema: Schema, description: str) -> Schema:
    return {"name": name, "in": "query", "required": False, "schema": schema, "description": description}


def _path(name: str, description: str) -> Schema:
    return {"name": name, "in": "path", "required": True, "schema": _INT, "description": description}


def _op(
    summary: str,
    tag: str,
    responses: dict[str, Any],
    *,
    body: Schema | None = None,
    parameters: list[Schema] | None = None,
    public: bool = False,
) -> dict[str, Any]:
    operation: dict[str, Any] = {"summary": summary, "tags": [tag], "responses": responses}
    if body is not None:
        operation["requestBody"] = _body(body)
    if parameters:
        operation["parameters"] = parameters
    if public:
        operation["security"] = []
    return operation


_ERROR_RESPONSES = {
    "401": "Unauthorized",
    "403": "Forbidden",
    "404": "NotFound",
    "409": "Conflict",
    "422": "ValidationFailed",
    "429": "RateLimited",
    "503": "Unavailable",
    "504": "GatewayTimeout",
}
_AUTHED = ("401", "503")
_TICKET_ID = _path("id", "the ticket's id (its number)")
_VERSION: Schema = {
    "type": "integer",
    "minimum": 1,
    "description": "the version you read; a different current version is refused with 409 tickets.version_conflict",
}
_TICKET_RESPONSE = _obj({"ticket": _ref("Ticket")})
_TRANSITION_ERRORS = _errors(*_AUTHED, "403", "404", "409", "422")


def _transition(summary: str, body: Schema) -> dict[str, Any]:
    return _op(
        summary,
        "tickets",
        {**_ok("the ticket after the change", _TICKET_RESPONSE), **_TRANSITION_ERRORS},
        body=body,
        parameters=[_TICKET_ID],
    )


_SCHEMAS: dict[str, Schema] = {
    "Error": _obj(
        {
            "error_id": {"type": "string", "description": "stable, e.g. tickets.illegal_transition"},
            "message": {"type": "string", "description": "a sentence for people"},
            "details": {
                "type": "object",
                "additionalProperties": {"type": "string"},
                "description": "validation.failed: the problem of each field",
            },
            "status": {"type": "string", "description": "tickets.illegal_transition: the ticket's status"},
            "allowed": {
                **_array(_STR),
                "description": "tickets.illegal_transition: the actions allowed now",
            },
            "version": {"type": "integer", "description": "tickets.version_conflict: the current version"},
        },
        required=("error_id", "message"),
    ),
    "Agent": _obj(
        {
            "id": _INT,
            "username": _STR,
            "display_name": _STR,
            "role": _enum(["agent", "supervisor", "admin"]),
            "interfaces": _array(_STR),
        }
    ),
    "Customer": _obj(
        {
            "id": _INT,
            "customer_no": _OPT_STR,
            "name": _STR,
            "tier": _enum(["vip", "gold", "standard"]),
            "email": _OPT_STR,
            "phones": _array(_STR),
            "birthday": {"type": ["string", "null"], "format": "date"},
        }
    ),
    "Interaction": _obj({"occurred_at": _TIME, "channel": _STR, "summary": _STR}),
    "Person": {
        "type": ["object", "null"],
        "properties": {"id": _INT, "name": _OPT_STR},
        "required": ["id", "name"],
    },
    "Ticket": _obj(
        {
            "id": _INT,
            "number": _STR,
            "version": _INT,
            "status": _enum([s.value for s in TicketStatus]),
            "open": _BOOL,
            "subject": _STR,
            "description": _STR,
            "category": _STR,
            "channel": _enum([c.value for c in Channel]),
            "priority": _enum([p.value for p in Priority]),
            "customer": _obj(
                {
                    "id": _OPT_INT,
                    "name": _STR,
                    "tier": _STR,
                    "top_tier": _BOOL,
                    "email": _OPT_STR,
                    "phone": _OPT_STR,
                }
            ),
            "call_id": _OPT_STR,
            "assignee": _ref("Person"),
            "department": _OPT_STR,
            "created_by": _OPT_INT,
            "created_at": _TIME,
            "updated_at": _TIME,
            "sla": _obj(
                {
                    "first_response_due": _OPT_TIME,
                    "resolution_due": _OPT_TIME,
                    "first_responded_at": _OPT_TIME,
                    "paused_since": _OPT_TIME,
                }
            ),
            "resolved_at": _OPT_TIME,
            "closed_at": _OPT_TIME,
            "resolution": _OPT_STR,
            "reopen_count": _INT,
        }
    ),
    "Entry": _obj(
        {
            "id": _INT,
            "at": _TIME,
            "actor": _obj({"kind": _enum(["agent", "customer", "system"]), "id": _OPT_INT, "name": _OPT_STR}),
            "action": _STR,
            "from": _OPT_STR,
            "to": _OPT_STR,
            "note": _STR,
            "customer_visible": _BOOL,
        }
    ),
    "Notice": _obj(
        {
            "id": _INT,
            "kind": _STR,
            "channel": _STR,
            "recipient": _STR,
            "status": _enum(["pending", "sent", "failed"]),
            "attempts": _INT,
            "last_error": _OPT_STR,
            "created_at": _TIME,
            "sent_at": _OPT_TIME,
        }
    ),
    "Handler": _obj(
        {
            "agent_id": _INT,
            "name": _OPT_STR,
            "department": _STR,
            "skills": _array(_STR),
            "capacity": _INT,
            "open": _INT,
            "room": _INT,
        }
    ),
    "Department": _obj({"department": _STR, "handlers": _INT, "open": _INT, "capacity": _INT, "room": _INT}),
    "AgentStatus": _obj(
        {
            "interface": _STR,
            "member_name": _OPT_STR,
            "state": _enum(["ready", "on_call", "wrap_up", "paused", "logged_out"]),
            "reason": _OPT_STR,
            "since": _OPT_TIME,
            "queues": _array(
                _obj({"queue": _STR, "paused": _BOOL, "reason": _OPT_STR, "paused_since": _OPT_TIME})
            ),
        }
    ),
    "AgentState": _obj({"interfaces": _array(_ref("AgentStatus")), "pause_reasons": _array(_STR)}),
    "Forecast": _obj(
        {
            "arrivals_per_hour": _NUMBER,
            "handle_s": _NUMBER,
            "agents": _INT,
            "service_level": _OPT_NUMBER,
            "target": _NUMBER,
            "agents_needed": _OPT_INT,
            "below_target": _BOOL,
        }
    ),
    "StaffingWarning": _obj(
        {
            "interface": _STR,
            "queue": _STR,
            "reason": _STR,
            "projected_now": _ref("Forecast"),
            "projected_after": _ref("Forecast"),
        }
    ),
}

_RESPONSES = {
    name: {
        "description": description,
        "content": {"application/json": {"schema": _ref("Error")}},
        **({"headers": {"Retry-After": {"schema": _INT}}} if name == "RateLimited" else {}),
    }
    for name, description in (
        ("Unauthorized", "auth.required or auth.invalid_credentials"),
        ("Forbidden", "auth.forbidden (role), tickets.not_yours or kb.review_required"),
        (
            "NotFound",
            "tickets.not_found, customers.not_found, tickets.confirmation_invalid, campaigns.not_found, "
            "campaigns.lead_not_found, kb.not_found, portal.ticket_not_found, alerts.not_found "
            "or alerts.customer_not_watchable",
        ),
        (
            "Conflict",
            "tickets.illegal_transition, tickets.version_conflict, tickets.no_handler_available, "
            "tickets.conflict, customers.conflict, agent_state.not_in_queue, pbx.refused, "
            "campaigns.not_diallable, kb.version_conflict or service.retry",
        ),
        (
            "ValidationFailed",
            "validation.failed (with details), tickets.unknown_handler or agent_state.unknown_reason",
        ),
        ("RateLimited", "auth.rate_limited; Retry-After says when to try again"),
        ("Unavailable", "service.database_unavailable, service.timeout or pbx.unavailable"),
        ("GatewayTimeout", "pbx.timeout: the phone system did not answer in time"),
    )
}

_NOTE = {"type": "string", "maxLength": 10_000}

_PATHS: dict[str, dict[str, Any]] = {
    "/api/auth/login": {
        "post": _op(
            "Sign in: a bearer token for the other calls",
            "auth",
            {
                **_ok("signed in", _obj({"token": _STR, "expires_at": _TIME, "agent": _ref("Agent")})),
                **_errors("401", "422", "429", "503"),
            },
            body=_obj({"username": _STR, "password": _STR}),
            public=True,
        )
    },
    "/api/auth/logout": {
        "post": _op(
            "Revoke the bearer token", "auth", {**_ok("signed out", status="204"), **_errors(*_AUTHED)}
        )
    },
    "/api/me": {
        "get": _op(
            "The signed-in account",
            "auth",
            {**_ok("the account", _obj({"agent": _ref("Agent")})), **_errors(*_AUTHED)},
        )
    },
    "/api/calls/today": {
        "get": _op(
            "The agent's calls since local midnight, newest first",
            "calls",
            {
                **_ok(
                    "the calls",
                    _obj(
                        {
                            "calls": _array(
                                _obj(
                                    {
                                        "call_id": _STR,
                                        "caller_number": _OPT_STR,
                                        "caller_name": _OPT_STR,
                                        "customer": {
                                            "type": ["object", "null"],
                                            "properties": {"id": _INT, "name": _STR, "tier": _STR},
                                        },
                                        "queue": _OPT_STR,
                                        "outcome": _STR,
                                        "wait_s": _INT,
                                        "talk_s": _INT,
                                        "started_at": _TIME,
                                        "ended_at": _TIME,
                                    }
                                )
                            )
                        }
                    ),
                ),
                **_errors(*_AUTHED),
            },
        )
    },
    "/api/customers": {
        "post": _op(
            "Create a customer (the pop's new-customer action)",
            "customers",
            {
                **_ok("created", _obj({"customer": _ref("Customer")}), "201"),
                **_errors(*_AUTHED, "409", "422"),
            },
            body=_obj(
                {"name": _STR, "phone": _STR, "email": _OPT_STR, "tier": _enum(["vip", "gold", "standard"])},
                required=("name", "phone"),
            ),
        ),
        "get": _op(
            "Find customers by customer number, phone (any spelling) or name words",
            "customers",
            {**_ok("matches", _obj({"customers": _array(_ref("Customer"))})), **_errors(*_AUTHED, "422")},
            parameters=[_query("q", {"type": "string", "maxLength": 200}, "what to look for")],
        ),
    },
    "/api/customers/{id}": {
        "get": _op(
            "The customer page: the customer, their timeline (newest first) and tickets (open first)",
            "customers",
            {
                **_ok(
                    "the customer",
                    _obj(
                        {
                            "customer": _ref("Customer"),
                            "timeline": _array(_ref("Interaction")),
                            "tickets": _array(_ref("Ticket")),
                        }
                    ),
                ),
                **_errors(*_AUTHED, "404"),
            },
            parameters=[_path("id", "the customer's id")],
        )
    },
    "/api/health": {
        "get": _op(
            "Liveness of the PBX link and the database (no login)",
            "health",
            {
                **_ok(
                    "the database answers",
                    _obj(
                        {
                            "status": _enum(["ok", "degraded"]),
                            "ami": _enum(["connected", "disconnected"]),
                            "database": _enum(["ok", "error"]),
                        }
                    ),
                ),
                "503": {"description": "the database does not answer (same body, database: error)"},
            },
            public=True,
        )
    },
    "/api/openapi.json": {
        "get": _op(
            "This document (no login)", "meta", _ok("the OpenAPI document", {"type": "object"}), public=True
        )
    },
    "/api/tickets/meta": {
        "get": _op(
            "The values ticket fields can take",
            "tickets",
            {
                **_ok(
                    "categories, priorities, channels and statuses",
                    _obj(
                        {
                            "categories": _array(_STR),
                            "priorities": _array(_STR),
                            "channels": _array(_STR),
                            "statuses": _array(_STR),
                        }
                    ),
                ),
                **_errors(*_AUTHED),
            },
        )
    },
    "/api/tickets": {
        "post": _op(
            "Take in a request; optionally assign it to someone, or to the best handler",
            "tickets",
            {**_ok("created", _TICKET_RESPONSE, "201"), **_errors(*_AUTHED, "409", "422")},
            body=_obj(
                {
                    "subject": {"type": "string", "maxLength": 200},
                    "description": _NOTE,
                    "category": _STR,
                    "priority": {**_enum([p.value for p in Priority]), "default": "normal"},
                    "channel": {**_enum([c.value for c in Channel]), "default": "phone"},
                    "customer_id": _OPT_INT,
                    "contact_name": _OPT_STR,
                    "contact_email": _OPT_STR,
                    "contact_phone": _OPT_STR,
                    "call_id": _OPT_STR,
                    "assignee_id": _OPT_INT,
                    "auto_assign": {"type": "boolean", "default": False},
                },
                required=("subject", "category"),
            ),
        ),
        "get": _op(
            "A work list: top-tier customers first, then priority, then the nearest deadline",
            "tickets",
            {
                **_ok(
                    "one page",
                    _obj({"tickets": _array(_ref("Ticket")), "total": _INT, "limit": _INT, "offset": _INT}),
                ),
                **_errors(*_AUTHED, "422"),
            },
            parameters=[
                _query("mine", _BOOL, "1: assigned to me"),
                _query("assignee_id", _INT, "assigned to this agent"),
                _query("unassigned", _BOOL, "1: nobody has it yet"),
                _query("status", _STR, "comma-separated statuses"),
                _query("open", _BOOL, "1: not resolved or closed"),
                _query("customer_id", _INT, "of this customer"),
                _query("category", _STR, "of this category"),
                _query("priority", _enum([p.value for p in Priority]), "of this priority"),
                _query("top_tier", _BOOL, "1: only top-tier customers"),
                _query(
                    "q",
                    {"type": "string", "maxLength": 200},
                    "words of the subject or customer name, or a number",
                ),
                _query(
                    "limit", {"type": "integer", "minimum": 1, "maximum": 100, "default": 50}, "page size"
                ),
                _query("offset", {"type": "integer", "minimum": 0, "default": 0}, "tickets to skip"),
            ],
        ),
    },
    "/api/tickets/suggestions": {
        "get": _op(
            "Who can take a ticket of a category, with their open workload, and the best one",
            "tickets",
            {
                **_ok(
                    "the options",
                    _obj(
                        {
                            "category": _STR,
                            "best": {"oneOf": [_ref("Handler"), {"type": "null"}]},
                            "handlers": _array(_ref("Handler")),
                            "departments": _array(_ref("Department")),
                        }
                    ),
                ),
                **_errors(*_AUTHED, "422"),
            },
            parameters=[{**_query("category", _STR, "the ticket's category"), "required": True}],
        )
    },
    "/api/tickets/{id}": {
        "get": _op(
            "A ticket with its audited timeline and its notices",
            "tickets",
            {
                **_ok(
                    "the ticket",
                    _obj(
                        {
                            "ticket": _ref("Ticket"),
                            "entries": _array(_ref("Entry")),
                            "notices": _array(_ref("Notice")),
                        }
                    ),
                ),
                **_errors(*_AUTHED, "404"),
            },
            parameters=[_TICKET_ID],
        )
    },
    "/api/tickets/{id}/assign": {
        "post": _transition(
            "Assign to assignee_id, or with none to the best handler with room (history is kept)",
            _obj({"assignee_id": _OPT_INT, "note": _NOTE, "version": _VERSION}, required=()),
        )
    },
    "/api/tickets/{id}/respond": {
        "post": _transition(
            "The first response to the customer (customer-visible)",
            _obj({"note": _NOTE, "version": _VERSION}, required=("note",)),
        )
    },
    "/api/tickets/{id}/wait": {
        "post": _transition(
            "Waiting on the customer: the resolution clock stops",
            _obj({"note": _NOTE, "version": _VERSION}, required=()),
        )
    },
    "/api/tickets/{id}/resume": {
        "post": _transition(
            "The customer came back: the resolution clock runs again",
            _obj({"note": _NOTE, "version": _VERSION}, required=()),
        )
    },
    "/api/tickets/{id}/resolve": {
        "post": _transition(
            "Record the solution; the customer is notified and asked to confirm",
            _obj({"resolution": _NOTE, "version": _VERSION}, required=("resolution",)),
        )
    },
    "/api/tickets/{id}/confirm": {
        "post": _transition(
            "Record the customer's acceptance (e.g. on the phone): closed",
            _obj({"note": _NOTE, "version": _VERSION}, required=()),
        )
    },
    "/api/tickets/{id}/reopen": {
        "post": _transition(
            "The customer has further needs: reopened, back to the handler",
            _obj({"note": _NOTE, "version": _VERSION}, required=("note",)),
        )
    },
    "/api/tickets/{id}/comments": {
        "post": _op(
            "Add a note to the timeline (internal unless customer_visible)",
            "tickets",
            {**_ok("added", _obj({"entry": _ref("Entry")}), "201"), **_errors(*_AUTHED, "404", "422")},
            body=_obj(
                {"body": _NOTE, "customer_visible": {"type": "boolean", "default": False}}, required=("body",)
            ),
            parameters=[_TICKET_ID],
        )
    },
    "/api/handlers": {
        "get": _op(
            "Every handler with department, skills, capacity and open workload (supervisor, admin)",
            "handlers",
            {**_ok("the handlers", _obj({"handlers": _array(_ref("Handler"))})), **_errors(*_AUTHED, "403")},
        )
    },
    "/api/handlers/{agent_id}": {
        "put": _op(
            "Set an agent's handler profile (supervisor, admin)",
            "handlers",
            {**_ok("saved", status="204"), **_errors(*_AUTHED, "403", "422")},
            body=_obj(
                {
                    "department": {"type": "string", "maxLength": 100},
                    "skills": _array(_STR),
                    "capacity": {"type": "integer", "minimum": 0, "maximum": 1000},
                }
            ),
            parameters=[_path("agent_id", "the agent's account id")],
        )
    },
    "/api/reports/reopens": {
        "get": _op(
            "Resolutions and reopens per handler and category (supervisor, admin)",
            "reports",
            {
                **_ok(
                    "the report",
                    _obj(
                        {
                            "since": _TIME,
                            "rows": _array(
                                _obj(
                                    {
                                        "assignee": _ref("Person"),
                                        "category": _STR,
                                        "resolved": _INT,
                                        "reopened": _INT,
                                        "reopen_rate": {"type": ["number", "null"]},
                                    }
                                )
                            ),
                        }
                    ),
                ),
                **_errors(*_AUTHED, "403", "422"),
            },
            parameters=[
                _query(
                    "days", {"type": "integer", "minimum": 1, "maximum": 366, "default": 30}, "how far back"
                )
            ],
        )
    },
    "/api/confirm/lookup": {
        "post": _op(
            "The customer's confirm link: what they are asked to confirm (no login, rate-limited)",
            "confirm",
            {
                **_ok(
                    "the resolved request",
                    _obj(
                        {
                            "ticket": _obj(
                                {
                                    "number": _STR,
                                    "subject": _STR,
                                    "resolution": _OPT_STR,
                                    "customer_name": _STR,
                                    "resolved_at": _OPT_TIME,
                                }
                            )
                        }
                    ),
                ),
                **_errors("404", "422", "429", "503"),
            },
            body=_obj({"token": _STR}),
            public=True,
        )
    },
    "/api/confirm": {
        "post": _op(
            "The customer accepts the solution (closed) or reopens with a note (no login, rate-limited)",
            "confirm",
            {
                **_ok("answered", _obj({"status": _enum(["closed", "reopened"])})),
                **_errors("404", "422", "429", "503"),
            },
            body=_obj({"token": _STR, "accepted": _BOOL, "note": _NOTE}, required=("token", "accepted")),
            public=True,
        )
    },
}

_AGENT_STATE = _ok("the agent's states now", _ref("AgentState"))
_PBX = ("409", "422", "504")
_PATHS.update(
    {
        "/api/agent/state": {
            "get": _op(
                "The signed-in agent's states and pause reasons",
                "agents",
                {**_AGENT_STATE, **_errors(*_AUTHED)},
            )
        },
        "/api/agent/queues": {
            "post": _op(
                "Log in to a queue (QueueAdd on Asterisk for each of the agent's interfaces)",
                "agents",
                {**_AGENT_STATE, **_errors(*_AUTHED, *_PBX)},
                body=_obj(
                    {"queue": _STR, "penalty": {"type": "integer", "minimum": 0, "maximum": 1000}}, ("queue",)
                ),
            )
        },
        "/api/agent/queues/{queue}": {
            "delete": _op(
                "Log out of a queue (QueueRemove)",
                "agents",
                {**_AGENT_STATE, **_errors(*_AUTHED, *_PBX)},
                parameters=[{"name": "queue", "in": "path", "required": True, "schema": _STR}],
            )
        },
        "/api/agent/pause": {
            "post": _op(
                "Pause in every queue with a configured reason (QueuePause); warnings say when the "
                "projected service level falls under target",
                "agents",
                {
                    **_ok(
                        "paused",
                        {
                            "allOf": [
                                _ref("AgentState"),
                                _obj({"warnings": _array(_ref("StaffingWarning"))}),
                            ]
                        },
                    ),
                    **_errors(*_AUTHED, *_PBX),
                },
                body=_obj({"reason": _STR}),
            )
        },
        "/api/agent/unpause": {
            "post": _op("Unpause in every queue", "agents", {**_AGENT_STATE, **_errors(*_AUTHED, *_PBX)})
        },
        "/api/wallboard": {
            "get": _op(
                "Queue figures and every agent's state now (supervisor, admin)",
                "wallboard",
                {
                    **_ok(
                        "the wallboard",
                        _obj(
                            {
                                "at": _OPT_TIME,
                                "queues": _array({"type": "object"}),
                                "agents": _array(_ref("AgentStatus")),
                            }
                        ),
                    ),
                    **_errors(*_AUTHED, "403"),
                },
            )
        },
        "/api/reports/agent-states": {
            "get": _op(
                "Seconds each agent spent in each state and pause reason over a span (supervisor, admin)",
                "reports",
                {
                    **_ok(
                        "the totals",
                        _obj(
                            {
                                "since": _TIME,
                                "until": _TIME,
                                "totals": _array(
                                    _obj(
                                        {
                                            "interface": _STR,
                                            "state": _STR,
                                            "reason": _OPT_STR,
                                            "seconds": _NUMBER,
                                        }
                                    )
                                ),
                            }
                        ),
                    ),
                    **_errors(*_AUTHED, "403", "422"),
                },
                parameters=[
                    {"name": "since", "in": "query", "required": True, "schema": _TIME},
                    {"name": "until", "in": "query", "required": True, "schema": _TIME},
                ],
            )
        },
    }
)

_CAMPAIGN_ID = _path("campaign_id", "the campaign's id")
_LEAD_ID = _path("lead_id", "the lead's id")
_CAMPAIGN_ERRORS = ("403", "404", "409", "422")
_SCHEMAS.update(
    {
        "Campaign": _obj(
            {
                "id": _INT,
                "name": _STR,
                "queue": _STR,
                "dial_method": _enum(["preview", "progressive", "predictive"]),
                "state": _enum(["running", "paused", "stopped"]),
                "caller_id": _STR,
                "script": _STR,
                "window": _obj({"start": _STR, "end": _STR}),
                "max_attempts": _INT,
                "retry_s": _obj({"busy": _INT, "no_answer": _INT, "failed": _INT, "machine": _INT}),
                "sales": _BOOL,
                "drop_action": _STR,
                "abandon_cap": _NUMBER,
            }
        ),
        "Lead": _obj(
            {
                "id": _INT,
                "campaign_id": _INT,
                "name": _STR,
                "phone": _STR,
                "timezone": _STR,
                "attempts": _INT,
                "status": _STR,
                "disposition": _OPT_STR,
            }
        ),
    }
)
_PATHS.update(
    {
        "/api/campaigns": {
            "get": _op(
                "Every campaign with its live figures: dialled, answered, dropped, abandon rate over 24 h "
                "and 30 days, agents busy and idle, pacing level, leads left (supervisor, admin)",
                "campaigns",
                {
                    **_ok(
                        "the campaigns",
                        _obj(
                            {
                                "campaigns": _array(
                                    {"allOf": [_ref("Campaign"), _obj({"live": {"type": "object"}})]}
                                )
                            }
                        ),
                    ),
                    **_errors(*_AUTHED, "403"),
                },
            ),
            "post": _op(
                "Create a campaign, paused (supervisor, admin)",
                "campaigns",
                {
                    **_ok("created", _obj({"campaign": _ref("Campaign")}), status="201"),
                    **_errors(*_AUTHED, "403", "422"),
                },
                body=_obj(
                    {
                        "name": _STR,
                        "queue": _STR,
                        "dial_method": _enum(["preview", "progressive", "predictive"]),
                        "caller_id": _STR,
                        "script": _STR,
                        "window_start": _STR,
                        "window_end": _STR,
                        "max_attempts": _INT,
                        "retry_busy_s": _INT,
                        "retry_no_answer_s": _INT,
                        "retry_failed_s": _INT,
                        "retry_machine_s": _INT,
                        "sales": _BOOL,
                        "drop_action": _STR,
                        "abandon_cap": _NUMBER,
                    },
                    required=("name", "queue", "dial_method", "caller_id"),
                ),
            ),
        },
        "/api/campaigns/mine": {
            "get": _op(
                "The running campaigns an agent may join, and the one they joined",
                "campaigns",
                {
                    **_ok(
                        "the campaigns",
                        _obj(
                            {
                                "campaigns": _array(_ref("Campaign")),
                                "joined": {"type": ["object", "null"]},
                            }
                        ),
                    ),
                    **_errors(*_AUTHED),
                },
            )
        },
        "/api/campaigns/leave": {
            "post": _op(
                "Stop taking campaign calls",
                "campaigns",
                {**_ok("left", _obj({"joined": {"type": "null"}})), **_errors(*_AUTHED)},
            )
        },
        "/api/campaigns/{campaign_id}/state": {
            "post": _op(
                "Start, pause or stop a campaign (supervisor, admin)",
                "campaigns",
                {
                    **_ok("the campaign", _obj({"campaign": _ref("Campaign")})),
                    **_errors(*_AUTHED, *_CAMPAIGN_ERRORS),
                },
                body=_obj({"state": _enum(["running", "paused", "stopped"])}),
                parameters=[_CAMPAIGN_ID],
            )
        },
        "/api/campaigns/{campaign_id}/leads": {
            "post": _op(
                "Import leads from a CSV file (text/csv; columns phone,name[,timezone]); bad rows are listed "
                "and duplicates merged (supervisor, admin)",
                "campaigns",
                {
                    **_ok(
                        "the import report",
                        _obj(
                            {
                                "created": _INT,
                                "updated": _INT,
                                "rejected": _array(_obj({"line": _INT, "reason": _STR})),
                                "merged": _array(_obj({"line": _INT, "into_line": _INT, "reason": _STR})),
                            }
                        ),
                    ),
                    **_errors(*_AUTHED, *_CAMPAIGN_ERRORS),
                },
                parameters=[_CAMPAIGN_ID],
            )
        },
        "/api/campaigns/{campaign_id}/join": {
            "post": _op(
                "Take this campaign's calls",
                "campaigns",
                {
                    **_ok("joined", _obj({"joined": _obj({"campaign_id": _INT, "state": _STR})})),
                    **_errors(*_AUTHED, *_CAMPAIGN_ERRORS),
                },
                parameters=[_CAMPAIGN_ID],
            )
        },
        "/api/campaigns/{campaign_id}/preview": {
            "get": _op(
                "The next lead for the agent to look at and dial (preview campaigns)",
                "campaigns",
                {
                    **_ok(
                        "the lead, or null when none is due",
                        _obj(
                            {
                                "campaign": _ref("Campaign"),
                                "lead": {"oneOf": [_ref("Lead"), {"type": "null"}]},
                            }
                        ),
                    ),
                    **_errors(*_AUTHED, *_CAMPAIGN_ERRORS),
                },
                parameters=[_CAMPAIGN_ID],
            )
        },
        "/api/campaigns/{campaign_id}/leads/{lead_id}/dial": {
            "post": _op(
                "Dial the previewed lead (Originate)",
                "campaigns",
                {
                    **_ok("dialling", _obj({"dialling": _BOOL}), status="202"),
                    **_errors(*_AUTHED, *_CAMPAIGN_ERRORS),
                },
                parameters=[_CAMPAIGN_ID, _LEAD_ID],
            )
        },
        "/api/campaigns/{campaign_id}/leads/{lead_id}/skip": {
            "post": _op(
                "Pass on the previewed lead",
                "campaigns",
                {**_ok("skipped", _obj({"skipped": _BOOL})), **_errors(*_AUTHED, *_CAMPAIGN_ERRORS)},
                parameters=[_CAMPAIGN_ID, _LEAD_ID],
            )
        },
        "/api/leads/{lead_id}/disposition": {
            "post": _op(
                "The agent's disposition of a campaign call",
                "campaigns",
                {**_ok("the lead", _obj({"lead": _ref("Lead")})), **_errors(*_AUTHED, *_CAMPAIGN_ERRORS)},
                body=_obj(
                    {"disposition": _STR, "note": _STR, "callback_at": _OPT_TIME}, required=("disposition",)
                ),
                parameters=[_LEAD_ID],
            )
        },
    }
)

_ALERT_ID = _path("id", "the alert's id")
_DELIVERY = _obj(
    {
        "id": _INT,
        "channel": _enum(["live", "email", "webhook"]),
        "recipient": _STR,
        "status": _enum(["pending", "sent", "failed"]),
        "attempts": _INT,
        "last_error": _OPT_STR,
        "next_attempt_at": _TIME,
        "sent_at": _OPT_TIME,
    }
)
_SCHEMAS.update(
    {
        "Alert": _obj(
            {
                "id": _INT,
                "kind": _enum(
                    ["warning", "breach", "overdue", "escalation", "customer_ticket", "customer_calls"]
                ),
                "title": _STR,
                "ticket_id": _OPT_INT,
                "customer_id": _OPT_INT,
                "level": _INT,
                "role": _OPT_STR,
                "recipient": _OPT_STR,
                "agent_id": _OPT_INT,
                "raised_at": _TIME,
                "acknowledged_at": _OPT_TIME,
                "acknowledged_by": _OPT_INT,
                "snoozed_until": _OPT_TIME,
                "deliveries": _array(_DELIVERY),
            }
        ),
        "EscalatedTicket": _obj(
            {
                "ticket_id": _INT,
                "subject": _STR,
                "status": _STR,
                "priority": _STR,
                "customer_name": _STR,
                "department": _OPT_STR,
                "assignee_id": _OPT_INT,
                "breached_at": _TIME,
                "past_breach_s": _INT,
                "level": _INT,
                "acknowledged_at": _OPT_TIME,
                "snoozed_until": _OPT_TIME,
            }
        ),
        "WatchedCustomer": _obj(
            {
                "customer_id": _INT,
                "customer_name": _STR,
                "customer_tier": _STR,
                "owner_agent_id": _INT,
                "owner_name": _STR,
                "owner_email": _OPT_STR,
                "note": _STR,
                "watched_at": _TIME,
            }
        ),
    }
)
_ONE_ALERT = _obj({"alert": _ref("Alert")})
_PATHS.update(
    {
        "/api/alerts": {
            "get": _op(
                "The newest alerts with each delivery's status (an agent sees only alerts addressed to them)",
                "alerts",
                {**_ok("the alerts", _obj({"alerts": _array(_ref("Alert"))})), **_errors(*_AUTHED, "422")},
                parameters=[_query("limit", _INT, "at most this many, 1..200 (default 50)")],
            )
        },
        "/api/alerts/{id}": {
            "get": _op(
                "One alert with its deliveries",
                "alerts",
                {**_ok("the alert", _ONE_ALERT), **_errors(*_AUTHED, "404")},
                parameters=[_ALERT_ID],
            )
        },
        "/api/alerts/{id}/ack": {
            "post": _op(
                "Acknowledge an alert: its ticket climbs the escalation ladder no further",
                "alerts",
                {**_ok("acknowledged", _ONE_ALERT), **_errors(*_AUTHED, "404")},
                parameters=[_ALERT_ID],
            )
        },
        "/api/alerts/{id}/snooze": {
            "post": _op(
                "Snooze an alert: its ticket climbs no further until the snooze ends",
                "alerts",
                {**_ok("snoozed", _ONE_ALERT), **_errors(*_AUTHED, "404", "422")},
                body=_obj({"minutes": _INT}, required=()),
                parameters=[_ALERT_ID],
            )
        },
        "/api/escalations": {
            "get": _op(
                "Open tickets past a breach, longest past it first (supervisors)",
                "alerts",
                {
                    **_ok("the tickets", _obj({"escalations": _array(_ref("EscalatedTicket"))})),
                    **_errors(*_AUTHED, "403"),
                },
            )
        },
        "/api/watched-customers": {
            "get": _op(
                "Watched customers and their owners (supervisors)",
                "alerts",
                {
                    **_ok("the watched customers", _obj({"watched": _array(_ref("WatchedCustomer"))})),
                    **_errors(*_AUTHED, "403"),
                },
            ),
            "post": _op(
                "Watch a customer: new tickets and repeated calls alert the owner at once (supervisors)",
                "alerts",
                {
                    **_ok("watched", _obj({"watched": _ref("WatchedCustomer")}), status="201"),
                    **_errors(*_AUTHED, "403", "404", "422"),
                },
                body=_obj(
                    {"customer_id": _INT, "owner_agent_id": _INT, "owner_email": _OPT_STR, "note": _STR},
                    required=("customer_id", "owner_agent_id"),
                ),
            ),
        },
        "/api/watched-customers/{id}": {
            "delete": _op(
                "Stop watching a customer (supervisors)",
                "alerts",
                {**_ok("no longer watched", status="204"), **_errors(*_AUTHED, "403", "404")},
                parameters=[_path("id", "the customer's id")],
            )
        },
    }
)


# --- proactive service and service reports (web_agent/proactive_api.py) ---------------------
_SCHEMAS.update(
    {
        "Callback": _obj(
            {
                "id": _INT,
                "customer_id": _OPT_INT,
                "customer_name": _STR,
                "number": _STR,
                "due_at": _TIME,
                "note": _STR,
                "requested_by": _enum(["agent", "ivr", "api"]),
                "agent_id": {**_OPT_INT, "description": "who promised it; null: the team's"},
                "status": _enum(["scheduled", "offered", "done", "cancelled"]),
                "offered_to": {**_array(_INT), "description": "the agents it popped for"},
                "to_team": {**_BOOL, "description": "it went to the team because its agent was away"},
            }
        ),
    }
)
_CALLBACK_ID = _path("id", "the callback's id")
_CALLBACK_RESPONSE = _obj({"callback": _ref("Callback")})
_DIAL_ERRORS = ("404", "409", "422", "504")
_DAY: Schema = {"type": "string", "format": "date"}
_PERIOD = [
    _query("from", _DAY, "first local day of the period (default: 29 days before 'to')"),
    _query("to", _DAY, "last local day of the period, included (default: today)"),
]


def _report_op(summary: str, parts: dict[str, Schema]) -> dict[str, Any]:
    return _op(
        f"{summary} (supervisor, admin)",
        "reports",
        {
            **_ok("the report", _obj({"from": _DAY, "to": _DAY, "timezone": _STR, **parts})),
            **_errors(*_AUTHED, "403", "422"),
        },
        parameters=_PERIOD,
    )


_PATHS.update(
    {
        "/api/callbacks": {
            "get": _op(
                "The agent's open callbacks: promised by them or popped for them, soonest first",
                "callbacks",
                {**_ok("the callbacks", _obj({"callbacks": _array(_ref("Callback"))})), **_errors(*_AUTHED)},
            ),
            "post": _op(
                'Promise a callback ("Call back at…"): it pops on this agent\'s desktop when due, '
                "or on the team's if the agent is away",
                "callbacks",
                {**_ok("scheduled", _CALLBACK_RESPONSE, status="201"), **_errors(*_AUTHED, "422")},
                body=_obj(
                    {
                        "number": _STR,
                        "due_at": {**_OPT_TIME, "description": "with its offset; null: as soon as possible"},
                        "note": _STR,
                        "customer_id": _OPT_INT,
                    },
                    required=("number",),
                ),
            ),
        },
        "/api/callbacks/{id}/dial": {
            "post": _op(
                "Call the customer back now from the agent's phone (AMI Originate); the callback is done",
                "callbacks",
                {
                    **_ok("dialling", _obj({"callback": _ref("Callback"), "channel_id": _STR}), status="202"),
                    **_errors(*_AUTHED, *_DIAL_ERRORS),
                },
                parameters=[_CALLBACK_ID],
            )
        },
        "/api/callbacks/{id}/done": {
            "post": _op(
                "Close a callback without dialling: called back another way, or cancelled",
                "callbacks",
                {**_ok("closed", _CALLBACK_RESPONSE), **_errors(*_AUTHED, "404", "422")},
                body=_obj({"cancelled": _BOOL}, required=()),
                parameters=[_CALLBACK_ID],
            )
        },
        "/api/calls/dial": {
            "post": _op(
                "Click-to-dial: ring the number, then connect it to the agent's phone (AMI Originate)",
                "calls",
                {
                    **_ok("dialling", _obj({"channel_id": _STR}), status="202"),
                    **_errors(*_AUTHED, *_DIAL_ERRORS),
                },
                body=_obj({"number": _STR}),
            )
        },
        "/api/customers/{id}/special-days": {
            "put": _op(
                "Set the customer's anniversary and whether they receive special-day greetings",
                "customers",
                {
                    **_ok(
                        "saved",
                        _obj(
                            {
                                "customer_id": _INT,
                                "anniversary": {**_DAY, "type": ["string", "null"]},
                                "greetings_opt_out": _BOOL,
                            }
                        ),
                    ),
                    **_errors(*_AUTHED, "404", "422"),
                },
                body=_obj({"anniversary": {**_DAY, "type": ["string", "null"]}, "greetings_opt_out": _BOOL}),
                parameters=[_path("id", "the customer's id")],
            )
        },
        "/api/reports/volume": {
            "get": _report_op(
                "Tickets taken in per local day (every day of the period), per category and per channel",
                {
                    "by_day": _array(_obj({"day": _DAY, "tickets": _INT})),
                    "by_category": _array(_obj({"category": _STR, "tickets": _INT})),
                    "by_channel": _array(_obj({"channel": _STR, "tickets": _INT})),
                },
            )
        },
        "/api/reports/workload": {
            "get": _report_op(
                "Each handler's open tickets now, tickets resolved in the period and their average "
                "intake-to-resolution time",
                {
                    "agents": _array(
                        _obj(
                            {
                                "agent": _ref("Person"),
                                "open": _INT,
                                "resolved": _INT,
                                "avg_handling_s": _OPT_INT,
                            }
                        )
                    )
                },
            )
        },
        "/api/reports/service-times": {
            "get": _report_op(
                "Per service (category), over tickets taken in during the period: average time to first "
                "response and to resolution, and the share of resolutions reopened",
                {
                    "categories": _array(
                        _obj(
                            {
                                "category": _STR,
                                "tickets": _INT,
                                "responded": _INT,
                                "avg_first_response_s": _OPT_INT,
                                "resolved": _INT,
                                "avg_resolution_s": _OPT_INT,
                                "reopened": _INT,
                                "reopen_rate": _OPT_NUMBER,
                            }
                        )
                    )
                },
            )
        },
        "/api/reports/distribution": {
            "get": _report_op(
                "Tickets taken in during the period per category and customer tier",
                {"cells": _array(_obj({"category": _STR, "tier": _STR, "tickets": _INT}))},
            )
        },
    }
)


# --- knowledge base and the customer portal ------------------------------------------------
_ARTICLE_ID = _path("id", "the article's id")
_VISIBILITY = _enum(["public", "internal"])
_ARTICLE_STATUS = _enum(["draft", "published"])
_KB_SEARCH = [
    _query("q", {"type": "string", "maxLength": 200}, "words, any case, with or without diacritics"),
    _query("category", _STR, "only this category"),
    _query("limit", {"type": "integer", "minimum": 1, "maximum": 50}, "at most this many hits (default 10)"),
]
_ARTICLE_RESPONSE = _ok("the article", _obj({"article": _ref("Article")}))
_ARTICLE_BODY = _obj(
    {
        "title": {"type": "string", "maxLength": 200},
        "body": {"type": "string", "maxLength": 20_000},
        "category": {"type": "string", "pattern": "^[a-z0-9][a-z0-9_-]{0,39}$"},
        "tags": {**_array(_STR), "maxItems": 20},
        "synonyms": {**_array(_STR), "maxItems": 20, "description": "other ways people ask it"},
        "language": {"type": "string", "description": "vi, en, zh-CN … (default vi)"},
        "visibility": {**_VISIBILITY, "description": "public: portal and IVR too; internal: agents only"},
        "sound_file": {**_OPT_STR, "description": "Asterisk sound file the IVR plays, without extension"},
        "version": _VERSION,
    },
    required=("title", "body", "category"),
)
_OPTIONAL_VERSION: dict[str, Any] = {
    "required": False,
    "content": {"application/json": {"schema": _obj({"version": _VERSION}, required=())}},
}
_SCHEMAS.update(
    {
        "Article": _obj(
            {
                "id": _INT,
                "version": _INT,
                "title": _STR,
                "body": _STR,
                "category": _STR,
                "tags": _array(_STR),
                "synonyms": _array(_STR),
                "language": _STR,
                "visibility": _VISIBILITY,
                "status": _ARTICLE_STATUS,
                "sound_file": _OPT_STR,
                "views": _INT,
                "created_at": _TIME,
                "updated_at": _TIME,
                "published_at": _OPT_TIME,
            }
        ),
        "ArticleHit": _obj(
            {
                "article_id": _INT,
                "title": _STR,
                "body": _STR,
                "category": _STR,
                "language": _STR,
                "visibility": _VISIBILITY,
                "views": _INT,
                "score": {**_NUMBER, "description": "match (0-100) plus up to 8 points of popularity"},
            }
        ),
        "CustomerTicket": _obj(
            {
                "number": _STR,
                "subject": _STR,
                "category": _STR,
                "status": _enum([s.value for s in TicketStatus]),
                "status_text": _STR,
                "opened_at": _TIME,
                "updated_at": _TIME,
                "resolution": _OPT_STR,
            }
        ),
    }
)
_PATHS.update(
    {
        "/api/kb/articles": {
            "get": _op(
                "Articles in any state for the editing page, most recently changed first",
                "knowledge base",
                {
                    **_ok("a page", _obj({"articles": _array(_ref("Article")), "total": _INT})),
                    **_errors(*_AUTHED, "422"),
                },
                parameters=[
                    _query("status", _ARTICLE_STATUS, "only drafts or only published"),
                    _query("category", _STR, "only this category"),
                    _query("visibility", _VISIBILITY, "only public or only internal"),
                    _query("limit", {"type": "integer", "minimum": 1, "maximum": 100}, "page size (50)"),
                    _query("offset", {"type": "integer", "minimum": 0}, "skip this many"),
                ],
            ),
            "post": _op(
                "Write a new article (saved as a draft; any signed-in role)",
                "knowledge base",
                {**_ok("drafted", _obj({"article": _ref("Article")}), "201"), **_errors(*_AUTHED, "422")},
                body=_ARTICLE_BODY,
            ),
        },
        "/api/kb/search": {
            "get": _op(
                "Search published articles, internal ones too (agents)",
                "knowledge base",
                {**_ok("best first", _obj({"hits": _array(_ref("ArticleHit"))})), **_errors(*_AUTHED, "422")},
                parameters=_KB_SEARCH,
            )
        },
        "/api/kb/articles/{id}": {
            "get": _op(
                "One article in any state",
                "knowledge base",
                {**_ARTICLE_RESPONSE, **_errors(*_AUTHED, "404")},
                parameters=[_ARTICLE_ID],
            ),
            "put": _op(
                "Replace an article's text (a published article's: supervisors and admins only)",
                "knowledge base",
                {**_ARTICLE_RESPONSE, **_errors(*_AUTHED, "403", "404", "409", "422")},
                body=_ARTICLE_BODY,
                parameters=[_ARTICLE_ID],
            ),
            "delete": _op(
                "Delete an article for good (supervisors and admins)",
                "knowledge base",
                {**_ok("deleted", status="204"), **_errors(*_AUTHED, "403", "404", "409", "422")},
                parameters=[_ARTICLE_ID, _query("version", _VERSION, "the version you read")],
            ),
        },
        "/api/kb/articles/{id}/publish": {
            "post": {
                **_op(
                    "Publish: searchable by agents, and by the portal and IVR if public (supervisors and admins)",
                    "knowledge base",
                    {**_ARTICLE_RESPONSE, **_errors(*_AUTHED, "403", "404", "409", "422")},
                    parameters=[_ARTICLE_ID],
                ),
                "requestBody": _OPTIONAL_VERSION,
            }
        },
        "/api/kb/articles/{id}/unpublish": {
            "post": {
                **_op(
                    "Take back to draft: nobody finds it until published again (supervisors and admins)",
                    "knowledge base",
                    {**_ARTICLE_RESPONSE, **_errors(*_AUTHED, "403", "404", "409", "422")},
                    parameters=[_ARTICLE_ID],
                ),
                "requestBody": _OPTIONAL_VERSION,
            }
        },
        "/api/kb/articles/{id}/viewed": {
            "post": _op(
                "An agent opened the answer (counts towards its popularity)",
                "knowledge base",
                {**_ok("counted", status="204"), **_errors(*_AUTHED, "404")},
                parameters=[_ARTICLE_ID],
            )
        },
        "/api/portal/meta": {
            "get": _op(
                "The portal's request categories and the most read public answers of each (no login)",
                "portal",
                {
                    **_ok(
                        "categories and answers",
                        _obj({"categories": _array(_STR), "popular": _array(_ref("ArticleHit"))}),
                    ),
                    **_errors("503"),
                },
                public=True,
            )
        },
        "/api/portal/faq": {
            "get": _op(
                "Search the published public answers (no login, rate-limited per address)",
                "portal",
                {
                    **_ok("best first", _obj({"hits": _array(_ref("ArticleHit"))})),
                    **_errors("422", "429", "503"),
                },
                parameters=_KB_SEARCH,
                public=True,
            )
        },
        "/api/portal/faq/{id}": {
            "get": _op(
                "One published public answer, counted as read (no login, rate-limited per address)",
                "portal",
                {
                    **_ok(
                        "the answer",
                        _obj(
                            {
                                "article": _obj(
                                    {"article_id": _INT, "title": _STR, "body": _STR, "category": _STR}
                                )
                            }
                        ),
                    ),
                    **_errors("404", "429", "503"),
                },
                parameters=[_ARTICLE_ID],
                public=True,
            )
        },
        "/api/portal/status": {
            "post": _op(
                "A ticket's status, given its number and the email or phone on it; a wrong pair gets the same "
                "404 portal.ticket_not_found as a missing ticket (no login, failures rate-limited per address)",
                "portal",
                {
                    **_ok("the ticket as the customer sees it", _obj({"ticket": _ref("CustomerTicket")})),
                    **_errors("404", "422", "429", "503"),
                },
                body=_obj({"ticket": {"type": "string", "description": "digits"}, "contact": _STR}),
                public=True,
            )
        },
        "/api/portal/requests": {
            "post": _op(
                "Open a request (a ticket on channel portal; no login, rate-limited per address)",
                "portal",
                {
                    **_ok("opened", _obj({"ticket": _ref("CustomerTicket")}), "201"),
                    **_errors("422", "429", "503"),
                },
                body=_obj(
                    {
                        "name": _STR,
                        "email": _OPT_STR,
                        "phone": _OPT_STR,
                        "subject": {"type": "string", "maxLength": 200},
                        "description": {"type": "string", "maxLength": 10_000},
                        "category": _STR,
                    },
                    required=("name", "subject", "category"),
                ),
                public=True,
            )
        },
    }
)

OPENAPI: dict[str, Any] = {
    "openapi": "3.1.0",
    "info": {
        "title": "Hotline",
        "version": "0.1.0",
        "description": "Call-center CTI and service automation. Errors are JSON {error_id, message, details?} "
        "with a stable error_id.",
    },
    "servers": [{"url": "/"}],
    "security": [{"bearer": []}],
    "paths": _PATHS,
    "components": {
        "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        "schemas": _SCHEMAS,
        "responses": _RESPONSES,
    },
}
