"""The webhook alert channel: a JSON POST signed with HMAC-SHA256 over the exact body bytes.

The receiver recomputes `sha256=<hex>` of the body with the shared secret and compares it with
the `X-Hotline-Signature` header; `X-Hotline-Delivery` names the delivery so a receiver can drop
a retry it already has. The secret comes only from the environment and is never logged.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import dataclass, field
from typing import Any

import aiohttp

from tickets.errors import NoticeDeliveryError
from tickets.escalation_store import Alert, AlertDelivery

SIGNATURE_HEADER = "X-Hotline-Signature"
DELIVERY_HEADER = "X-Hotline-Delivery"


@dataclass(frozen=True)
class WebhookSettings:
    """Where alerts are posted and the secret they are signed with (from HOTLINE_ALERT_WEBHOOK_SECRET)."""

    url: str
    secret: str = field(repr=False)
    timeout_s: float = 10.0


def sign(secret: str, body: bytes) -> str:
    """The signature header value of `body`: `sha256=` and the hex HMAC-SHA256."""
    return "sha256=" + hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()


def alert_payload(alert: Alert) -> dict[str, Any]:
    """The JSON document a webhook receives for one alert."""
    return {
        "alert_id": alert.id,
        "kind": alert.kind,
        "title": alert.title,
        "ticket_id": alert.ticket_id,
        "customer_id": alert.customer_id,
        "level": alert.level,
        "role": alert.role,
        "recipient": alert.recipient_name,
        "raised_at": alert.raised_at.isoformat(),
    }


class WebhookAlertChannel:
    """Posts alerts to one URL; any answer but 2xx is a failed delivery, retried by the outbox."""

    name = "webhook"

    def __init__(self, settings: WebhookSettings) -> None:
        self._settings = settings

    async def deliver(self, delivery: AlertDelivery) -> None:
        """POST the alert; NoticeDeliveryError says what the receiver answered."""
        body = json.dumps(alert_payload(delivery.alert), ensure_ascii=False).encode("utf-8")
        headers = {
            "Content-Type": "application/json",
            SIGNATURE_HEADER: sign(self._settings.secret, body),
            DELIVERY_HEADER: str(delivery.id),
        }
        timeout = aiohttp.ClientTimeout(total=self._settings.timeout_s)
        try:
            async with (
                aiohttp.ClientSession(timeout=timeout) as session,
                session.post(delivery.recipient, data=body, headers=headers) as response,
            ):
                if not 200 <= response.status < 300:
                    raise NoticeDeliveryError("webhook", f"the receiver answered HTTP {response.status}")
        except aiohttp.ClientError as exc:
            raise NoticeDeliveryError("webhook", f"{type(exc).__name__}: {exc}") from exc
