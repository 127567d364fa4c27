"""The rules of accounts (pure): usernames, display names, passwords, interfaces, token hashes."""

from __future__ import annotations

import pytest

from agents import InvalidAccountError, validate_interface
from agents.model import account_problems, hash_token


@pytest.mark.parametrize(
    ("username", "display_name", "password", "problems"),
    [
        ("alice", "Alice", "long-enough", set()),
        ("a", "Alice", "long-enough", {"username"}),
        ("Alice", "Alice", "long-enough", {"username"}),
        ("alice", " ", "long-enough", {"display_name"}),
        ("alice", "A" * 201, "long-enough", {"display_name"}),
        ("alice", "Alice", "short", {"password"}),
        ("alice", "Alice", "x" * 257, {"password"}),
        ("a b", "", "", {"username", "display_name", "password"}),
    ],
)
def test_every_problem_of_a_new_account_is_named(
    username: str, display_name: str, password: str, problems: set[str]
) -> None:
    assert set(account_problems(username, display_name, password)) == problems


@pytest.mark.parametrize("raw", ["PJSIP/1001", " Local/1001@agents ", "SIP/trunk-7"])
def test_a_pbx_interface_is_accepted_trimmed(raw: str) -> None:
    assert validate_interface(raw) == raw.strip()


@pytest.mark.parametrize(
    "raw", ["1001", "PJSIP/", "PJSIP/1001\r\nAction: Originate", "PJSIP/10 01", "PJSIP/1,2", "P/" + "1" * 200]
)
def test_anything_that_could_inject_into_an_ami_action_is_refused(raw: str) -> None:
    with pytest.raises(InvalidAccountError) as caught:
        validate_interface(raw)
    assert set(caught.value.problems) == {"interface"}


def test_a_token_is_kept_only_as_its_sha256() -> None:
    digest = hash_token("s3cr3t")
    assert len(digest) == 32
    assert digest == hash_token("s3cr3t") != hash_token("s3cr3u")
