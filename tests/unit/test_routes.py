"""The typed-route layer's decoding: one step, every problem listed in words, hostile input refused."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Annotated, Any

import msgspec
import pytest
from aiohttp import web
from hypothesis import given, settings
from hypothesis import strategies as st

from tickets.model import Priority
from web_agent.errors import ValidationFailedError
from web_agent.routes import (
    PUBLIC,
    Id,
    JsonBody,
    QueryString,
    Reply,
    Routes,
    decode_body,
    decode_strings,
    iso,
    one_line,
)


class Sample(JsonBody):
    name: Annotated[str, msgspec.Meta(max_length=5)]
    id: Id | None = None
    flag: bool = False
    priority: Priority = Priority.NORMAL
    tags: Annotated[list[Annotated[str, msgspec.Meta(max_length=3)]], msgspec.Meta(max_length=2)] = (
        msgspec.field(default_factory=list)
    )
    line: Annotated[str, one_line(10)] | None = None
    when: Annotated[datetime, msgspec.Meta(tz=True)] | None = None
    count: Annotated[int, msgspec.Meta(ge=0, le=9)] = 0


class SampleQuery(QueryString):
    limit: Annotated[int, msgspec.Meta(ge=1, le=100)] = 50
    mine: bool = False
    id: Id | None = None
    q: Annotated[str, msgspec.Meta(max_length=10)] = ""


class Nothing(Reply):
    pass


def outcome(decode: Any, *args: Any) -> Any:
    """What `decode(*args)` returns, or the details of the ValidationFailedError it raises."""
    try:
        return decode(*args)
    except ValidationFailedError as refused:
        return refused.details


def problems(raw: bytes) -> dict[str, str]:
    with pytest.raises(ValidationFailedError) as refused:
        decode_body(raw, Sample)
    return refused.value.details


def query_problems(values: dict[str, str]) -> dict[str, str]:
    with pytest.raises(ValidationFailedError) as refused:
        decode_strings(values, SampleQuery)
    return refused.value.details


def test_a_good_body_is_decoded_in_one_step() -> None:
    body = decode_body(
        b'{"name": "Ann", "id": 7, "flag": true, "priority": "high", "tags": ["a"], '
        b'"when": "2026-12-01T10:00:00+07:00"}',
        Sample,
    )
    assert (body.name, body.id, body.flag, body.priority, body.tags) == ("Ann", 7, True, Priority.HIGH, ["a"])
    assert body.when is not None
    assert body.when.utcoffset() is not None


def test_every_problem_is_listed_in_words_not_only_the_first() -> None:
    raw = json.dumps(
        {
            "name": 5,
            "id": "seven",
            "flag": "yes",
            "priority": "asap",
            "tags": ["ok", "toolong"],
            "line": "two\nlines",
            "when": "2026-12-01T10:00:00",
            "count": 10,
            "colour": "red",
        }
    ).encode()
    assert problems(raw) == {
        "name": "text",
        "id": "an id (a positive whole number)",
        "flag": "true or false",
        "priority": "one of low, normal, high, urgent",
        "tags": "item 2: at most 3 characters",
        "line": "one line of text, without control characters",
        "when": "include the time zone offset, e.g. 2026-12-01T10:00:00+07:00",
        "count": "a whole number from 0 to 9",
        "colour": "not a member of this body; it takes name, id, flag, priority, tags, line, when, count",
    }


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ({}, {"name": "required: text"}),
        ({"name": "Annabel"}, {"name": "at most 5 characters"}),
        ({"name": None}, {"name": "text"}),
        ({"name": "A", "tags": "a"}, {"tags": "a list of at most 2 items, each text"}),
        ({"name": "A", "tags": ["a", "b", "c"]}, {"tags": "at most 2 items"}),
        ({"name": "A", "tags": [1]}, {"tags": "item 1: text"}),
        (
            {"name": "A", "when": "tomorrow"},
            {"when": "an ISO 8601 date and time with its offset, e.g. 2026-12-01T10:00:00+07:00"},
        ),
        ({"name": "A", "line": "x" * 11}, {"line": "at most 10 characters"}),
    ],
)
def test_what_is_wrong_and_what_is_expected(body: dict[str, Any], expected: dict[str, str]) -> None:
    assert problems(json.dumps(body).encode()) == expected


@pytest.mark.parametrize("value", [2**63, 10**30, -(2**63) - 1, 0, -1, True, 1.0, 1.5])
def test_ids_beyond_a_bigint_or_not_whole_positive_numbers_are_refused(value: object) -> None:
    assert problems(json.dumps({"name": "A", "id": value}).encode()) == {
        "id": "an id (a positive whole number)"
    }


def test_the_largest_bigint_is_an_id() -> None:
    assert decode_body(json.dumps({"name": "A", "id": 2**63 - 1}).encode(), Sample).id == 2**63 - 1


def test_integers_too_large_for_any_type_are_refused_before_they_are_parsed() -> None:
    assert problems(b'{"name": "A", "count": ' + b"9" * 5000 + b"}") == {
        "body": "a number in it is out of range"
    }
    assert problems(b'{"name": "A", "count": 1e400}') == {"body": "a number in it is out of range"}


@pytest.mark.parametrize(
    ("raw", "member"),
    [
        (b'{"name": "A\\u0000"}', "name"),
        (b'{"name": "A", "tags": ["a", "\\u0000"]}', "tags"),
        (b'{"name": "A", "line": "\\u0000"}', "line"),
    ],
)
def test_nul_characters_are_refused_wherever_they_are(raw: bytes, member: str) -> None:
    assert problems(raw) == {member: "text without NUL characters (\\u0000)"}


def test_a_raw_nul_byte_is_not_json_and_an_escaped_backslash_before_u0000_is_no_nul() -> None:
    assert problems(b'{"name": "A\x00"}') == {"body": "not valid JSON"}
    assert decode_body(b'{"name": "A", "line": "\\\\u0000"}', Sample).line == "\\u0000"


@pytest.mark.parametrize(
    "raw",
    [
        b'{"name": "A", "tags": ' + b"[" * 5000 + b"]" * 5000 + b"}",
        b"[" * 20_000 + b"]" * 20_000,
        b'{"a":' * 5000 + b"1" + b"}" * 5000,
    ],
)
def test_deep_nesting_is_refused(raw: bytes) -> None:
    assert problems(raw) == {"body": "nested too deeply"}


@pytest.mark.parametrize(
    ("raw", "problem"),
    [
        (b"\xff\xfe{}", "not valid UTF-8"),
        (b'{"name": "\xc3"}', "not valid UTF-8"),
        (b'{"name": "\\ud800"}', "not valid JSON"),
        (b"{name: 1}", "not valid JSON"),
        (b'{"name": "A"} {}', "not valid JSON"),
        (b"", "empty: send a JSON object"),
        (b"  \n", "empty: send a JSON object"),
        (b"[]", "expected a JSON object"),
        (b'"name"', "expected a JSON object"),
        (b"null", "expected a JSON object"),
        (b"7", "expected a JSON object"),
    ],
)
def test_what_is_not_a_json_object_says_so_under_body(raw: bytes, problem: str) -> None:
    assert problems(raw) == {"body": problem}


def test_query_strings_turn_digits_and_words_into_numbers_and_flags() -> None:
    query = decode_strings({"limit": "7", "mine": "TRUE", "id": "12", "other": "ignored"}, SampleQuery)
    assert (query.limit, query.mine, query.id) == (7, True, 12)
    assert decode_strings({"mine": "0", "limit": ""}, SampleQuery) == SampleQuery(mine=False)


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        ({"limit": "0"}, {"limit": "a whole number from 1 to 100"}),
        (
            {"limit": "many", "mine": "maybe"},
            {"limit": "a whole number from 1 to 100", "mine": "true or false"},
        ),
        ({"id": "99999999999999999999"}, {"id": "an id (a positive whole number)"}),
        ({"id": "1" * 5000}, {"id": "an id (a positive whole number)"}),
        ({"q": "a\x00b"}, {"q": "text without NUL characters (\\u0000)"}),
        ({"q": "x" * 11}, {"q": "at most 10 characters"}),
    ],
)
def test_bad_query_parameters_are_each_named(values: dict[str, str], expected: dict[str, str]) -> None:
    assert query_problems(values) == expected


_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=8,
)
_MEMBERS = st.sampled_from(["name", "id", "flag", "priority", "tags", "line", "when", "count", "other"])


@settings(max_examples=100, deadline=None)
@given(st.dictionaries(_MEMBERS | st.text(max_size=6), _JSON, max_size=8))
def test_any_json_object_is_a_body_or_a_list_of_problems_of_its_members(data: dict[str, Any]) -> None:
    result = outcome(decode_body, json.dumps(data).encode(), Sample)
    if isinstance(result, Sample):
        assert msgspec.json.decode(msgspec.json.encode(result), type=Sample) == result
    else:
        assert result
        assert set(result) <= set(data) | {"body", "name"}
        assert all(isinstance(p, str) and p for p in result.values())


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=200) | _JSON.map(lambda v: json.dumps(v).encode()))
def test_any_bytes_are_a_body_or_a_validation_failure(raw: bytes) -> None:
    result = outcome(decode_body, raw, Sample)
    assert isinstance(result, Sample) or (isinstance(result, dict) and result)


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(st.sampled_from(["limit", "mine", "id", "q", "x"]), st.text(max_size=30)))
def test_any_query_string_is_a_query_or_a_list_of_problems(values: dict[str, str]) -> None:
    result = outcome(decode_strings, values, SampleQuery)
    assert isinstance(result, SampleQuery) or set(result) <= set(values)


async def no_docstring(request: web.Request) -> Nothing:
    return Nothing()


async def stray(request: web.Request, *, colour: str) -> Nothing:
    """A parameter the layer does not know."""
    return Nothing()


async def untyped(request: web.Request) -> dict[str, Any]:
    """A reply that is not a declared type."""
    return {}


async def agent_on_a_public_route(request: web.Request, agent: object) -> Nothing:
    """Public routes take no agent."""
    return Nothing()


@pytest.mark.parametrize("handler", [no_docstring, stray, untyped, agent_on_a_public_route])
def test_a_handler_that_does_not_fit_the_layer_is_refused_when_declared(handler: Any) -> None:
    routes = Routes("samples")
    with pytest.raises(TypeError):
        routes.get("/api/sample", roles=PUBLIC)(handler)
    assert routes.routes == []


def test_times_in_replies_keep_their_offset_as_isoformat_writes_it() -> None:
    assert iso(datetime(2027, 1, 15, 8, 0, tzinfo=UTC)) == "2027-01-15T08:00:00+00:00"
    assert iso(None) is None
