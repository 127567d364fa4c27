"""The email notice channel over SMTP (stdlib smtplib, run in a worker thread with a deadline)."""

from __future__ import annotations

import asyncio
import smtplib
import ssl
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.utils import make_msgid
from urllib.parse import unquote, urlsplit

from tickets.errors import NoticeDeliveryError
from tickets.model import Ticket
from tickets.store import Notice

SECURITY = ("plain", "starttls", "tls")


@dataclass(frozen=True)
class SmtpSettings:
    """Where and how to send email; the password comes only from HOTLINE_SMTP_URL and is never shown."""

    host: str
    port: int
    from_address: str
    security: str = "plain"
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    timeout_s: float = 20.0

    @classmethod
    def from_url(cls, url: str, *, from_address: str, timeout_s: float = 20.0) -> SmtpSettings:
        """Read `smtp://[user:password@]host[:port][?starttls]` or `smtps://…` (implicit TLS)."""
        parts = urlsplit(url)
        if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
            raise ValueError("expected smtp://[user:password@]host[:port][?starttls] or smtps://…")
        security = (
            "tls" if parts.scheme == "smtps" else ("starttls" if parts.query == "starttls" else "plain")
        )
        if parts.query not in ("", "starttls"):
            raise ValueError(f"unknown SMTP URL option {parts.query!r} (only ?starttls)")
        port = parts.port or (465 if security == "tls" else 587 if security == "starttls" else 25)
        return cls(
            host=parts.hostname,
            port=port,
            from_address=from_address,
            security=security,
            username=unquote(parts.username) if parts.username else None,
            password=unquote(parts.password) if parts.password else None,
            timeout_s=timeout_s,
        )


class SmtpChannel:
    """Sends notices as plain-text email to the customer's address."""

    name = "email"

    def __init__(self, settings: SmtpSettings) -> None:
        if settings.security not in SECURITY:
            raise ValueError(f"security must be one of {', '.join(SECURITY)}")
        self._settings = settings

    def recipient(self, ticket: Ticket) -> str | None:
        """The customer's email address, if known."""
        return ticket.contact_email

    def reaches(self, email: str | None, phone: str | None) -> str | None:
        """The email address, if known."""
        return email

    async def deliver(self, notice: Notice) -> None:
        """Send one notice; NoticeDeliveryError says what the server refused."""
        message = EmailMessage()
        message["From"] = self._settings.from_address
        message["To"] = notice.recipient
        message["Subject"] = notice.subject
        message["Message-ID"] = make_msgid(idstring=f"notice-{notice.id}")
        message.set_content(notice.body)
        try:
            await asyncio.to_thread(self._send, message)
        except smtplib.SMTPRecipientsRefused as exc:
            raise NoticeDeliveryError(
                "email", f"the server refused {notice.recipient}: {exc.recipients}"
            ) from exc
        except smtplib.SMTPException as exc:
            raise NoticeDeliveryError("email", f"SMTP error: {exc}") from exc

    def _send(self, message: EmailMessage) -> None:
        s = self._settings
        smtp: smtplib.SMTP
        if s.security == "tls":
            smtp = smtplib.SMTP_SSL(s.host, s.port, timeout=s.timeout_s, context=ssl.create_default_context())
        else:
            smtp = smtplib.SMTP(s.host, s.port, timeout=s.timeout_s)
        with smtp:
            if s.security == "starttls":
                smtp.starttls(context=ssl.create_default_context())
            if s.username and s.password:
                smtp.login(s.username, s.password)
            smtp.send_message(message)
