"""Agents: the people who sign in, their roles, passwords, sign-in tokens and phone interfaces."""

from agents.errors import (
    AgentsError,
    AuthenticationRequiredError,
    DuplicateAccountError,
    InvalidAccountError,
    InvalidCredentialsError,
)
from agents.model import Agent, Role, Session, validate_interface
from agents.service import AccountService

__all__ = [
    "AccountService",
    "Agent",
    "AgentsError",
    "AuthenticationRequiredError",
    "DuplicateAccountError",
    "InvalidAccountError",
    "InvalidCredentialsError",
    "Role",
    "Session",
    "validate_interface",
]
