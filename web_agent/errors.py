"""Errors of the web layer (web_agent.app maps them, and every domain error, to HTTP in one table).

WebError
├── ForbiddenError            signed in, but the role may not do this
├── RateLimitedError          too many attempts; `retry_after_s` says when to try again
└── ValidationFailedError     a request body or query is malformed; `details` per field
"""

from __future__ import annotations


class WebError(Exception):
    """Base class of errors raised by `web_agent`."""


class ForbiddenError(WebError):
    """The signed-in account's role does not allow this."""

    def __init__(self, role: str, needed: tuple[str, ...]) -> None:
        super().__init__(f"Your role ({role}) may not do this; it needs {' or '.join(needed)}.")
        self.role = role
        self.needed = needed


class RateLimitedError(WebError):
    """Too many attempts from one address or for one account."""

    def __init__(self, retry_after_s: int) -> None:
        super().__init__(f"Too many attempts. Try again in {retry_after_s} seconds.")
        self.retry_after_s = retry_after_s


class ValidationFailedError(WebError):
    """The request is malformed; `details` maps each field to its problem."""

    def __init__(self, details: dict[str, str]) -> None:
        super().__init__("; ".join(f"{k}: {v}" for k, v in details.items()))
        self.details = details
