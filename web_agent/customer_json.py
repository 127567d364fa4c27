"""The JSON shape of a customer and their card, as every page shows it (answers, pops, outbound pops)."""

from __future__ import annotations

from typing import Any

from cti import CallerCardLike, CustomerLike


def customer_json(customer: CustomerLike) -> dict[str, Any]:
    """A customer as the desktop shows it."""
    return {
        "id": customer.id,
        "customer_no": customer.customer_no,
        "name": customer.name,
        "tier": str(customer.tier),
        "email": customer.email,
        "phones": list(customer.phones),
        "birthday": customer.birthday.isoformat() if customer.birthday is not None else None,
    }


def card_json(card: CallerCardLike | None) -> tuple[dict[str, Any] | None, list[dict[str, Any]]]:
    """The customer and interactions parts of a pop."""
    if card is None:
        return None, []
    return (
        customer_json(card.customer),
        [
            {"occurred_at": i.occurred_at.isoformat(), "channel": i.channel, "summary": i.summary}
            for i in card.interactions
        ],
    )
