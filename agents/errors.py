"""Errors raised by the agents package.

AgentsError
├── InvalidAccountError           an account breaks the rules; `problems` maps each field to its problem
├── DuplicateAccountError         the username is taken
├── InvalidCredentialsError       wrong username or password (deliberately not saying which)
└── AuthenticationRequiredError   no token, or an expired, revoked or unknown one
"""

from __future__ import annotations


class AgentsError(Exception):
    """Base class of every error raised by `agents`."""


class InvalidAccountError(AgentsError, ValueError):
    """An account is malformed; `problems` maps each field to its problem in plain words."""

    def __init__(self, problems: dict[str, str]) -> None:
        super().__init__("; ".join(f"{field}: {problem}" for field, problem in problems.items()))
        self.problems = problems


class DuplicateAccountError(AgentsError):
    """An account with this username already exists."""

    def __init__(self, username: str) -> None:
        super().__init__(f"An account named {username!r} already exists; choose another username.")
        self.username = username


class InvalidCredentialsError(AgentsError):
    """The username or password is wrong (deliberately not saying which)."""

    def __init__(self) -> None:
        super().__init__("Wrong username or password.")


class AuthenticationRequiredError(AgentsError):
    """The request carries no valid token."""

    def __init__(self, reason: str = "Please sign in first.") -> None:
        super().__init__(reason)
