"""Typed routes: every REST route declared once, its bodies decoded and encoded by msgspec, and the
OpenAPI 3.1 document generated from the declarations.

A route module declares its routes on a `Routes` (one OpenAPI tag) with a decorator; the
handler's annotations are the rest of the declaration:

    @ROUTES.post("/api/tickets", roles=ANY_ROLE, status=201, errors=("tickets.no_handler_available",))
    async def create_ticket(request: web.Request, agent: Agent, *, body: NewTicketBody) -> TicketReply:
        \"\"\"Take in a request; optionally assign it to someone, or to the best handler.\"\"\"

`body` (a `JsonBody`), `query` (a `QueryString`) and `path` (`PathParams`) are what the handler
receives, decoded; the return annotation is the response body (a `Reply`, encoded by msgspec;
None answers 204). Public routes (`roles=PUBLIC`) take no `agent`. Per request the layer checks
the bearer token and the role, then decodes the path, the query string and the body, each in one
step. What does not fit becomes one ValidationFailedError (422 `validation.failed`) listing every
problem, member by member, in words; a body that is not JSON, not UTF-8, nested too deeply or not
an object says so under `body`. NUL characters are refused everywhere (PostgreSQL cannot store
them), and every integer has a range, so nothing beyond a bigint gets past the edge.
"""

from __future__ import annotations

import functools
import importlib.metadata
import inspect
import re
import typing
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from http import HTTPStatus
from typing import Annotated, Any, TypedDict, TypeVar, Unpack

import msgspec
from aiohttp import web

from agents import Role
from web_agent.api import MAX_ID, MAX_VERSION, SERVICES
from web_agent.errors import ForbiddenError, ValidationFailedError

# One line of text: no control characters (a line break in a header or an AMI field is an injection).
_LINE = r"^[^\x00-\x1f\x7f-\x9f]*$"
_LINE_PROBLEM = "one line of text, without control characters"
PUBLIC: tuple[Role, ...] = ()
# What any route that reads the database can meet (a signed-in route declares them by signing in).
DATABASE_ERRORS = ("service.database_unavailable", "service.timeout")


def one_line(max_length: int) -> msgspec.Meta:
    """The constraints of one line of text of at most `max_length` characters."""
    return msgspec.Meta(max_length=max_length, pattern=_LINE, extra={"expected": _LINE_PROBLEM})


Id = Annotated[int, msgspec.Meta(ge=1, le=MAX_ID, extra={"expected": "an id (a positive whole number)"})]
Version = Annotated[
    int,
    msgspec.Meta(
        ge=1,
        le=MAX_VERSION,
        description="the version you read; a different current version is refused with 409",
    ),
]
# Path segments matched by `\d{1,18}`: always within a bigint; 0 is simply not found.
PathId = Annotated[int, msgspec.Meta(ge=0, le=10**18 - 1)]
# Replies carry times as Python's isoformat() writes them (+00:00, never Z), as they always have.
Instant = Annotated[str, msgspec.Meta(extra_json_schema={"format": "date-time"})]
Day = Annotated[str, msgspec.Meta(extra_json_schema={"format": "date"})]


class JsonBody(msgspec.Struct, forbid_unknown_fields=True, gc=False):
    """Base of request bodies: a JSON object; a member the type does not know is refused."""


class QueryString(msgspec.Struct, gc=False):
    """Base of query strings: text converted to numbers and flags (`1`, `true`); unknown names are ignored."""


class PathParams(msgspec.Struct, gc=False):
    """Base of path parameters: int fields match up to 18 digits, str fields one path segment."""


class Reply(msgspec.Struct, forbid_unknown_fields=True, gc=False):
    """Base of response bodies."""


class ErrorReply(Reply, omit_defaults=True):
    """The body of every error: a stable `error_id`, a sentence for people, and what a client can act on."""

    error_id: str
    message: str
    details: Annotated[
        dict[str, str] | msgspec.UnsetType,
        msgspec.Meta(description="validation.failed: the problem of each member"),
    ] = msgspec.UNSET
    status: Annotated[
        str | msgspec.UnsetType, msgspec.Meta(description="tickets.illegal_transition: the ticket's status")
    ] = msgspec.UNSET
    allowed: Annotated[
        list[str] | msgspec.UnsetType,
        msgspec.Meta(description="tickets.illegal_transition: the actions allowed now"),
    ] = msgspec.UNSET
    version: Annotated[
        int | msgspec.UnsetType, msgspec.Meta(description="*.version_conflict: the current version")
    ] = msgspec.UNSET


class IdPath(PathParams):
    """A resource named by its id."""

    id: PathId


_ENCODER = msgspec.json.Encoder()
_NUL_ESCAPE = b"\\u0000"
_NUL_PROBLEM = "text without NUL characters (\\u0000)"
_REF = "#/components/schemas/{name}"
Handler = Callable[..., Awaitable[object]]
H = TypeVar("H", bound=Handler)


def encode(body: Reply | msgspec.Raw, status: int = 200) -> web.Response:
    """A JSON response of `body`, encoded by msgspec."""
    return web.Response(
        body=_ENCODER.encode(body), status=status, content_type="application/json", charset="utf-8"
    )


def bearer(request: web.BaseRequest) -> str | None:
    """The token of an `Authorization: Bearer …` header, or None."""
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


def iso(value: datetime | date | None) -> str | None:
    """A time or a day as a reply carries it, or None."""
    return None if value is None else value.isoformat()


def stripped(text: str | None) -> str | None:
    """Text without surrounding blanks, or None when absent or blank."""
    return (text or "").strip() or None


@dataclass(frozen=True, eq=False)
class Route:
    """One declared route: what it takes, what it answers and which errors it can return."""

    method: str
    path: str
    handler: Handler
    tag: str
    roles: tuple[Role, ...]
    status: int
    errors: tuple[str, ...]
    body: type[JsonBody] | None
    body_optional: bool
    query: type[QueryString] | None
    params: type[PathParams] | None
    reply: type[Reply] | type[msgspec.Raw] | None
    responses: Mapping[int, type[Reply]]
    upload: str | None

    @property
    def summary(self) -> str:
        """The first line of the handler's docstring."""
        return (self.handler.__doc__ or "").strip().splitlines()[0].rstrip(".")

    @property
    def router_path(self) -> str:
        """The path as aiohttp routes it: id parameters match 1 to 18 digits."""
        if self.params is None:
            return self.path
        ints = {f.encode_name for f in _fields(self.params) if _bare(f.type) is int}
        return re.sub(r"\{(\w+)\}", lambda m: f"{{{m[1]}:\\d{{1,18}}}}" if m[1] in ints else m[0], self.path)

    def error_ids(self) -> tuple[str, ...]:
        """The error_ids this route can return: its own and those of signing in and decoding."""
        ids = list(self.errors)
        if self.roles:
            ids += ["auth.required", *DATABASE_ERRORS]
            if set(self.roles) != set(Role):
                ids.append("auth.forbidden")
        if self.body is not None or self.query is not None or self.params is not None:
            ids.append("validation.failed")
        if self.body is not None or self.upload is not None:
            ids.append("http.request_entity_too_large")
        return tuple(dict.fromkeys(ids))


class RouteOptions(TypedDict, total=False):
    """What a route may declare beyond its method, path and roles (see `Routes.route`)."""

    status: int
    errors: Iterable[str]
    body_optional: bool
    responses: Mapping[int, type[Reply]]
    upload: str


class Routes:
    """The routes of one part of the API (one OpenAPI tag), declared next to their handlers."""

    def __init__(self, tag: str) -> None:
        self.tag = tag
        self.routes: list[Route] = []

    def get(self, path: str, *, roles: tuple[Role, ...], **options: Unpack[RouteOptions]) -> Callable[[H], H]:
        """Declare a GET route (see `route`)."""
        return self.route("GET", path, roles=roles, **options)

    def post(
        self, path: str, *, roles: tuple[Role, ...], **options: Unpack[RouteOptions]
    ) -> Callable[[H], H]:
        """Declare a POST route (see `route`)."""
        return self.route("POST", path, roles=roles, **options)

    def put(self, path: str, *, roles: tuple[Role, ...], **options: Unpack[RouteOptions]) -> Callable[[H], H]:
        """Declare a PUT route (see `route`)."""
        return self.route("PUT", path, roles=roles, **options)

    def delete(
        self, path: str, *, roles: tuple[Role, ...], **options: Unpack[RouteOptions]
    ) -> Callable[[H], H]:
        """Declare a DELETE route (see `route`)."""
        return self.route("DELETE", path, roles=roles, **options)

    def route(
        self, method: str, path: str, *, roles: tuple[Role, ...], **options: Unpack[RouteOptions]
    ) -> Callable[[H], H]:
        """Declare a route; the handler's `body`, `query` and `path` annotations say what it takes.

        `roles`: who may call it (PUBLIC: no sign-in; the handler then takes no `agent`).
        `status`: the status of the reply (200). `errors`: the error_ids it can return beyond
        signing in and decoding. `body_optional`: no body reads as `{}`. `responses`: the replies
        of a handler that builds its own web.Response. `upload`: the media type of a body the
        handler reads itself.
        """

        def declare(handler: H) -> H:
            self.routes.append(
                _declaration(
                    method,
                    path,
                    handler,
                    tag=self.tag,
                    roles=roles,
                    status=options.get("status", 200),
                    errors=tuple(options.get("errors", ())),
                    body_optional=options.get("body_optional", False),
                    responses=options.get("responses", {}),
                    upload=options.get("upload"),
                )
            )
            return handler

        return declare

    def add_to(self, app: web.Application) -> None:
        """Register these routes on the application (and keep their declarations for the document)."""
        declared = app.get(DECLARED)
        if declared is None:
            app[DECLARED] = declared = []
        for route in self.routes:
            app.router.add_route(route.method, route.router_path, _aiohttp_handler(route))
            declared.append(route)


DECLARED = web.AppKey("declared_routes", list[Route])


def _declaration(
    method: str,
    path: str,
    handler: Handler,
    *,
    tag: str,
    roles: tuple[Role, ...],
    status: int,
    errors: tuple[str, ...],
    body_optional: bool,
    responses: Mapping[int, type[Reply]],
    upload: str | None,
) -> Route:
    """The Route of `handler`, from its annotations; a TypeError names what does not fit the layer."""
    hints = typing.get_type_hints(handler)
    names = list(inspect.signature(handler).parameters)
    expected_first = ["request", "agent"] if roles else ["request"]
    inputs = {"body": JsonBody, "query": QueryString, "path": PathParams}
    if names[: len(expected_first)] != expected_first or any(
        n not in inputs for n in names[len(expected_first) :]
    ):
        raise TypeError(f"{handler.__name__}: parameters must be {expected_first} then body, query, path")
    for name, base in inputs.items():
        if name in names and not issubclass(hints[name], base):
            raise TypeError(f"{handler.__name__}: `{name}` must be a {base.__name__}")
    returned = hints["return"]
    reply: type[Reply] | type[msgspec.Raw] | None = None
    if isinstance(returned, type) and issubclass(returned, Reply | msgspec.Raw):
        reply = returned
    elif returned is not type(None) and not (
        isinstance(returned, type) and issubclass(returned, web.StreamResponse) and responses
    ):
        raise TypeError(f"{handler.__name__}: return a Reply, msgspec.Raw, None, or declare `responses`")
    if not (handler.__doc__ or "").strip():
        raise TypeError(f"{handler.__name__}: the docstring's first line is the operation's summary")
    return Route(
        method=method,
        path=path,
        handler=handler,
        tag=tag,
        roles=roles,
        status=status,
        errors=errors,
        body=hints["body"] if "body" in names else None,
        body_optional=body_optional,
        query=hints["query"] if "query" in names else None,
        params=hints["path"] if "path" in names else None,
        reply=reply,
        responses=responses,
        upload=upload,
    )


def _aiohttp_handler(route: Route) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    """The aiohttp handler of a route: sign-in check, decoding, the handler, encoding."""
    roles, names = route.roles, tuple(r.value for r in route.roles)
    params, query, body, optional = route.params, route.query, route.body, route.body_optional
    handler, status = route.handler, route.status

    async def handle(request: web.Request) -> web.StreamResponse:
        # Who asks comes first: a stranger learns nothing about what the route takes.
        args: tuple[object, ...] = (request,)
        if roles:
            services = request.app[SERVICES]
            agent = await services.accounts.agent_for_token(bearer(request), services.now())
            if agent.role not in roles:
                raise ForbiddenError(agent.role.value, names)
            args = (request, agent)
        inputs: dict[str, object] = {}
        if params is not None:
            inputs["path"] = decode_strings(request.match_info, params)
        if query is not None:
            inputs["query"] = decode_strings(request.query, query)
        if body is not None:
            inputs["body"] = await _read_body(request, body, optional)
        result = await handler(*args, **inputs)
        if isinstance(result, web.StreamResponse):
            return result
        if result is None:
            return web.Response(status=204)
        assert isinstance(result, Reply | msgspec.Raw), f"{handler.__name__} returned {result!r}"
        return encode(result, status)

    return handle


# --- decoding ------------------------------------------------------------------------------

S = TypeVar("S", bound=msgspec.Struct)


@dataclass(frozen=True)
class _Field:
    """A member of a Struct: its JSON name, its annotated type (for msgspec), its type info (for words)."""

    encode_name: str
    type: Any
    info: msgspec.inspect.Type
    required: bool


@functools.cache
def _fields(kind: type[msgspec.Struct]) -> tuple[_Field, ...]:
    info = msgspec.inspect.type_info(kind)
    assert isinstance(info, msgspec.inspect.StructType)
    annotated = {f.name: f.type for f in msgspec.structs.fields(kind)}
    return tuple(_Field(f.encode_name, annotated[f.name], f.type, f.required) for f in info.fields)


@functools.cache
def _decoder(kind: type[S]) -> msgspec.json.Decoder[S]:
    return msgspec.json.Decoder(kind)


async def _read_body(request: web.Request, kind: type[S], optional: bool) -> S:
    """The request's JSON body as `kind` (`{}` when optional and absent); ValidationFailedError if not."""
    if optional and not request.can_read_body:
        return decode_body(b"{}", kind)
    if request.content_type != "application/json":
        raise ValidationFailedError({"body": "send JSON with Content-Type: application/json"})
    return decode_body(await request.read(), kind)


def decode_body(raw: bytes, kind: type[S]) -> S:
    """`raw` JSON as `kind` in one step; on any problem, a ValidationFailedError listing every one."""
    if _NUL_ESCAPE not in raw:
        decoder: msgspec.json.Decoder[S] = _decoder(kind)
        try:
            return decoder.decode(raw)
        except (msgspec.ValidationError, msgspec.DecodeError):
            pass
    return _checked(_json_object(raw), kind, strict=True)


def decode_strings(values: Mapping[str, str], kind: type[S]) -> S:
    """A query string's or a path's parameters as `kind` (digits to numbers, 1/0/true/false to flags).

    Empty parameters count as absent; of a repeated one, the first counts.
    """
    given: dict[str, str] = {}
    for name, value in values.items():
        if value and name not in given:
            given[name] = value
    if not any("\x00" in v for v in given.values()):
        try:
            return msgspec.convert(given, kind, strict=False)
        except msgspec.ValidationError:
            pass
    return _checked(given, kind, strict=False)


def _json_object(raw: bytes) -> dict[str, Any]:
    """The JSON object in `raw`, or ValidationFailedError saying under `body` why it is not one."""
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError:
        raise ValidationFailedError({"body": "not valid UTF-8"}) from None
    if not raw.strip():
        raise ValidationFailedError({"body": "empty: send a JSON object"})
    try:
        data = msgspec.json.decode(raw)
    except RecursionError:
        raise ValidationFailedError({"body": "nested too deeply"}) from None
    except msgspec.ValidationError:
        raise ValidationFailedError({"body": "a number in it is out of range"}) from None
    except msgspec.DecodeError:
        raise ValidationFailedError({"body": "not valid JSON"}) from None
    if not isinstance(data, dict):
        raise ValidationFailedError({"body": "expected a JSON object"})
    return data


def _checked(data: Mapping[str, Any], kind: type[S], *, strict: bool) -> S:
    """`data` as `kind`, member by member: every problem is listed, not only the first."""
    problems: dict[str, str] = {}
    fields = _fields(kind)
    for f in fields:
        if f.encode_name not in data:
            if f.required:
                problems[f.encode_name] = f"required: {_expected(f.info)}"
            continue
        value = data[f.encode_name]
        if _has_nul(value):
            problems[f.encode_name] = _NUL_PROBLEM
            continue
        try:
            msgspec.convert(value, f.type, strict=strict)
        except msgspec.ValidationError:
            problems[f.encode_name] = _problem(value, f.type)
    config = kind.__struct_config__
    if config.forbid_unknown_fields:
        known = [f.encode_name for f in fields]
        for name in data:
            if name not in known:
                problems[name] = f"not a member of this body; it takes {', '.join(known)}"
    if problems:
        raise ValidationFailedError(problems)
    try:
        return msgspec.convert(data, kind, strict=strict)
    except msgspec.ValidationError as exc:
        raise ValidationFailedError({"body": str(exc)}) from None


def _has_nul(value: object) -> bool:
    """Whether a NUL character is in any string of `value` (a loop: the value may be nested deeply)."""
    pending = [value]
    while pending:
        item = pending.pop()
        if isinstance(item, str):
            if "\x00" in item:
                return True
        elif isinstance(item, list):
            pending.extend(item)
        elif isinstance(item, dict):
            pending.extend(item)
            pending.extend(item.values())
    return False


def _bare(annotated: Any) -> Any:
    """The type without its Annotated metadata."""
    while typing.get_origin(annotated) is Annotated:
        annotated = typing.get_args(annotated)[0]
    return annotated


def _problem(value: object, annotated: Any) -> str:
    """What is wrong with `value`, which msgspec refused as `annotated`, in words."""
    info = msgspec.inspect.type_info(annotated)
    t = info.type if isinstance(info, msgspec.inspect.Metadata) else info
    if isinstance(t, msgspec.inspect.UnionType):
        forms = [a for a in typing.get_args(_bare(annotated)) if a is not type(None)]
        if len(forms) == 1:
            return _problem(value, forms[0])
    elif isinstance(t, msgspec.inspect.StrType) and isinstance(value, str):
        if t.max_length is not None and len(value) > t.max_length:
            return f"at most {t.max_length} characters"
        if t.min_length and len(value) < t.min_length:
            return "must not be empty"
    elif isinstance(t, msgspec.inspect.ListType) and isinstance(value, list):
        if t.max_length is not None and len(value) > t.max_length:
            return f"at most {t.max_length} items"
        item_type = typing.get_args(_bare(annotated))[0]
        for number, item in enumerate(value, 1):
            try:
                msgspec.convert(item, item_type)
            except msgspec.ValidationError:
                return f"item {number}: {_problem(item, item_type)}"
    elif isinstance(t, msgspec.inspect.DateTimeType) and t.tz and isinstance(value, str):
        try:
            naive = datetime.fromisoformat(value).tzinfo is None
        except ValueError:
            naive = False
        if naive:
            return "include the time zone offset, e.g. 2026-12-01T10:00:00+07:00"
    return _expected(info)


def _expected(info: msgspec.inspect.Type) -> str:
    """What a value of a type should be, in words (a field's `Meta(extra={"expected": …})` first)."""
    if isinstance(info, msgspec.inspect.Metadata):
        expected = (info.extra or {}).get("expected")
        return str(expected) if expected else _expected(info.type)
    if isinstance(info, msgspec.inspect.StrType):
        return "text"
    if isinstance(info, msgspec.inspect.BoolType):
        return "true or false"
    if isinstance(info, msgspec.inspect.IntType | msgspec.inspect.FloatType):
        what = "a whole number" if isinstance(info, msgspec.inspect.IntType) else "a number"
        return what if info.ge is None or info.le is None else f"{what} from {info.ge} to {info.le}"
    if isinstance(info, msgspec.inspect.EnumType):
        return "one of " + ", ".join(str(m.value) for m in info.cls)
    if isinstance(info, msgspec.inspect.ListType):
        most = f" of at most {info.max_length} items" if info.max_length is not None else ""
        return f"a list{most}, each {_expected(info.item_type)}"
    if isinstance(info, msgspec.inspect.DateTimeType):
        return "an ISO 8601 date and time with its offset, e.g. 2026-12-01T10:00:00+07:00"
    if isinstance(info, msgspec.inspect.DateType):
        return "a day as YYYY-MM-DD"
    return "a value of another kind"


# --- the OpenAPI document ------------------------------------------------------------------


def openapi_document(routes: Sequence[Route], error_status: Mapping[str, int]) -> dict[str, Any]:
    """The OpenAPI 3.1 document of `routes`; `error_status` maps every error_id to its HTTP status."""
    inputs = [k for r in routes for k in (r.params, r.query) if k is not None]
    outputs = [
        k
        for r in routes
        for k in (r.body, r.reply, *r.responses.values())
        if k is not None and k is not msgspec.Raw
    ]
    kinds: list[type[msgspec.Struct]] = list(dict.fromkeys([ErrorReply, *outputs, *inputs]))
    schemas, components = msgspec.json.schema_components(kinds, ref_template=_REF)
    schema_of = dict(zip(kinds, schemas, strict=True))
    # Parameters are listed one by one in each operation, not as objects of their own.
    parameters_of = {k: components.pop(k.__name__)["properties"] for k in dict.fromkeys(inputs)}
    paths: dict[str, dict[str, Any]] = {}
    operation_ids: set[str] = set()
    for route in routes:
        name = route.handler.__name__
        if name in operation_ids:
            raise ValueError(f"two routes are handled by functions named {name}: operationIds must differ")
        operation_ids.add(name)
        operation: dict[str, Any] = {"operationId": name, "summary": route.summary, "tags": [route.tag]}
        description = _description(route)
        if description:
            operation["description"] = description
        if not route.roles:
            operation["security"] = []
        parameters = [
            _parameter(f, where, parameters_of[kind][f.encode_name])
            for kind, where in ((route.params, "path"), (route.query, "query"))
            if kind is not None
            for f in _fields(kind)
        ]
        if parameters:
            operation["parameters"] = parameters
        if route.body is not None:
            operation["requestBody"] = {
                "required": not route.body_optional,
                "content": {"application/json": {"schema": schema_of[route.body]}},
            }
        elif route.upload is not None:
            operation["requestBody"] = {
                "required": True,
                "content": {route.upload: {"schema": {"type": "string"}}},
            }
        successes = _successes(route, schema_of)
        errors = _errors(route, error_status)
        if overlap := set(successes) & set(errors):
            raise ValueError(f"{name}: statuses {sorted(overlap)} are both a reply and an error")
        operation["responses"] = {**successes, **errors}
        paths.setdefault(route.path, {})[route.method.lower()] = operation
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Hotline",
            "version": importlib.metadata.version("hotline"),
            "description": "Call-center CTI and service automation. Errors are JSON "
            "{error_id, message, details?} with a stable error_id; each operation lists the ones it returns.",
        },
        "servers": [{"url": "/"}],
        "security": [{"bearer": []}],
        "paths": paths,
        "components": {
            "schemas": components,
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        },
    }


def _description(route: Route) -> str:
    lines = (route.handler.__doc__ or "").strip().splitlines()[1:]
    text = inspect.cleandoc("\n".join(lines))
    if route.roles and set(route.roles) != set(Role):
        text = f"{text}\n\nFor {' and '.join(r.value for r in route.roles)} accounts.".strip()
    return text


def _parameter(f: _Field, where: str, schema: dict[str, Any]) -> dict[str, Any]:
    schema = dict(schema)
    parameter: dict[str, Any] = {
        "name": f.encode_name,
        "in": where,
        "required": where == "path" or f.required,
    }
    if "description" in schema:
        parameter["description"] = schema.pop("description")
    parameter["schema"] = schema
    return parameter


def _successes(route: Route, schema_of: Mapping[type[msgspec.Struct], Any]) -> dict[str, Any]:
    replies: Mapping[int, type[Reply] | type[msgspec.Raw] | None] = route.responses or {
        route.status: route.reply
    }
    out: dict[str, Any] = {}
    for status, kind in replies.items():
        response: dict[str, Any] = {"description": HTTPStatus(status).phrase}
        if kind is msgspec.Raw:
            response["content"] = {"application/json": {"schema": {"type": "object"}}}
        elif kind is not None:
            response["content"] = {"application/json": {"schema": schema_of[kind]}}
        out[str(status)] = response
    return out


def _errors(route: Route, error_status: Mapping[str, int]) -> dict[str, Any]:
    by_status: dict[int, list[str]] = {}
    for error_id in route.error_ids():
        if error_id not in error_status:
            raise ValueError(f"{route.handler.__name__}: no status for error_id {error_id!r}")
        by_status.setdefault(error_status[error_id], []).append(error_id)
    out: dict[str, Any] = {}
    for status, ids in sorted(by_status.items()):
        schema = {
            "allOf": [
                {"$ref": _REF.format(name=ErrorReply.__name__)},
                {"properties": {"error_id": {"enum": ids}}},
            ]
        }
        response: dict[str, Any] = {
            "description": ", ".join(ids),
            "content": {"application/json": {"schema": schema}},
        }
        if status == HTTPStatus.TOO_MANY_REQUESTS:
            response["headers"] = {
                "Retry-After": {"description": "seconds to wait", "schema": {"type": "integer"}}
            }
        out[str(status)] = response
    return out
