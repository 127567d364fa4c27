"""Errors of the web layer (web_agent.app maps them, and every domain error, to HTTP in one table).

WebError
├── InvalidCredentialsError   wrong username or password
├── AuthenticationRequiredError  no token, or an expired or unknown one
├── ForbiddenError            signed in, but the role may not do this
├── RateLimitedError          too many attempts; `retry_after_s` says when to try again
├── ValidationFailedError     a request body or query is malformed; `details` per field
└── DuplicateAccountError     the username is taken
"""

from __future__ import annotations


class WebError(Exception):
    """Base class of errors raised by `web_agent`."""


class InvalidCredentialsError(WebError):
    """The username or password is wrong (deliberately not saying which)."""

    def __init__(self) -> None:
        super().__init__("Wrong username or password.")


class AuthenticationRequiredError(WebError):
    """The request carries no valid token."""

    def __init__(self, reason: str = "Please sign in first.") -> None:
        super().__init__(reason)


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


class DuplicateAccountError(WebError):
    """An account with this username already exists."""

    def __init__(self, username: str) -> None:
        super().__init__(f"An account named {username!r} already exists; choose another username.")
        self.username = username
