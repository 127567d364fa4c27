"""IVR menus as data (config/ivr.toml): nodes, their prompts, digits, timeouts and retries.

Pure: a TOML document in, a validated `Menu` out, or one `MenuConfigError` listing every
problem. Changing a menu means editing the file; the code only knows the node actions.
"""

from __future__ import annotations

import enum
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ivr.agi_protocol import SOUND_NAME
from ivr.errors import MenuConfigError

DIGITS = "0123456789*#"
TICKET_STATUSES = ("new", "assigned", "in_progress", "waiting", "resolved", "closed", "reopened")
TIERS = ("standard", "gold", "vip")
MAX_PRIORITY = 100
_NAME = re.compile(r"[a-z][a-z0-9_]{0,39}")
_QUEUE = re.compile(r"[A-Za-z0-9_.-]{1,80}")
_CATEGORY = re.compile(r"[a-z0-9_-]{1,40}")
_APPLICATION = re.compile(r"[A-Za-z][A-Za-z0-9_]{0,39}")
_VARIABLE = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,79}")


class Action(enum.Enum):
    """What a node does."""

    MENU = "menu"
    IDENTIFY = "identify"
    TICKET_STATUS = "ticket_status"
    FAQ_CATEGORY = "faq_category"
    FAQ_SPEECH = "faq_speech"
    CALLBACK = "callback"
    QUEUE = "queue"
    GOODBYE = "goodbye"


_COMMON = {"action", "prompts", "timeout_s", "retries", "invalid_prompts", "on_failure", "next"}
# Keys each action accepts beyond the common ones, and those it requires.
_ACCEPTS: dict[Action, set[str]] = {
    Action.MENU: {"options"},
    Action.IDENTIFY: {"ask_prompts", "max_digits"},
    Action.TICKET_STATUS: {
        "max_digits",
        "number_prompt",
        "status_prompts",
        "handler_digit",
        "handler_prompts",
        "on_handler",
    },
    Action.FAQ_CATEGORY: {"category", "limit", "unavailable_prompts"},
    Action.FAQ_SPEECH: {"category", "limit"},
    Action.CALLBACK: {"category"},
    Action.QUEUE: {"category"},
    Action.GOODBYE: set(),
}
_REQUIRES: dict[Action, set[str]] = {
    Action.MENU: {"prompts", "options", "on_failure"},
    Action.IDENTIFY: {"ask_prompts", "next", "on_failure"},
    Action.TICKET_STATUS: {"prompts", "next", "on_failure", "number_prompt", "status_prompts"},
    Action.FAQ_CATEGORY: {"category", "next"},
    Action.FAQ_SPEECH: {"next", "on_failure"},
    Action.CALLBACK: {"next"},
    Action.QUEUE: set(),
    Action.GOODBYE: set(),
}
_TERMINAL = (Action.QUEUE, Action.GOODBYE)


@dataclass(frozen=True)
class MenuNode:
    """One step of the IVR: what it plays, what it waits for and where each answer leads."""

    name: str
    action: Action
    prompts: tuple[str, ...] = ()
    timeout_s: float = 5.0
    retries: int = 2
    invalid_prompts: tuple[str, ...] = ()
    on_failure: str | None = None
    next: str | None = None
    options: Mapping[str, str] = field(default_factory=dict)
    ask_prompts: tuple[str, ...] = ()
    max_digits: int = 10
    number_prompt: str | None = None
    status_prompts: Mapping[str, str] = field(default_factory=dict)
    handler_digit: str | None = None
    handler_prompts: tuple[str, ...] = ()
    on_handler: str | None = None
    category: str | None = None
    limit: int = 3
    unavailable_prompts: tuple[str, ...] = ()

    @property
    def timeout_ms(self) -> int:
        """The digit timeout as AGI wants it."""
        return int(self.timeout_s * 1000)

    @property
    def attempts(self) -> int:
        """How many times the node asks before taking its failure path."""
        return self.retries + 1

    def choose(self, digit: str | None) -> str | None:
        """The node a menu digit leads to, or None for no or an invalid digit."""
        return self.options.get(digit) if digit is not None else None


@dataclass(frozen=True)
class PriorityPolicy:
    """QUEUE_PRIO by tier, and the floor for a customer with an open escalated ticket."""

    by_tier: Mapping[str, int]
    open_escalation: int
    unknown_caller: int

    def queue_priority(self, tier: str | None, *, escalated: bool) -> int:
        """Higher is answered first; an escalation lifts the caller to at least its floor."""
        base = self.by_tier.get(tier, self.unknown_caller) if tier is not None else self.unknown_caller
        return max(base, self.open_escalation) if escalated else base


@dataclass(frozen=True)
class Routing:
    """Which agent queue a call goes to: by the caller's tier first, then the chosen category."""

    default_queue: str
    by_category: Mapping[str, str]
    by_tier: Mapping[str, str]

    def queue_for(self, category: str | None, tier: str | None) -> str:
        """The queue for a caller of `tier` who chose `category` (either may be unknown)."""
        if tier is not None and tier in self.by_tier:
            return self.by_tier[tier]
        if category is not None and category in self.by_category:
            return self.by_category[category]
        return self.default_queue


@dataclass(frozen=True)
class Menu:
    """The whole IVR: its nodes, where calls start, routing and speech settings."""

    start: str
    nodes: Mapping[str, MenuNode]
    routing: Routing
    priority: PriorityPolicy
    tts_application: str | None = None
    speech_variable: str = "SPEECH_TEXT"
    max_steps: int = 40

    def node(self, name: str) -> MenuNode:
        """The node called `name` (validated to exist at load)."""
        return self.nodes[name]


def load_menu(path: Path) -> Menu:
    """Read and validate a menu file; MenuConfigError lists every problem."""
    try:
        document = tomllib.loads(path.read_text("utf-8"))
    except FileNotFoundError:
        raise MenuConfigError([f"{path}: IVR menu file not found"]) from None
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise MenuConfigError([f"{path}: cannot be read: {exc}"]) from None
    return parse_menu(document, source=str(path))


class _Problems:
    def __init__(self, source: str) -> None:
        self.source = source
        self.items: list[str] = []

    def add(self, where: str, text: str) -> None:
        self.items.append(f"{self.source}: {where}: {text}")


def _sounds(value: Any, where: str, problems: _Problems) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        problems.add(where, f"expected a list of sound file names, got {value!r}")
        return ()
    bad = [v for v in value if not SOUND_NAME.fullmatch(v)]
    if bad:
        problems.add(
            where, f"{bad} are not sound file names (letters, digits, _ . / -; no extension, no blanks)"
        )
    return tuple(value)


def _sound(value: Any, where: str, problems: _Problems) -> str | None:
    if not isinstance(value, str) or not SOUND_NAME.fullmatch(value):
        problems.add(where, f"{value!r} is not a sound file name")
        return None
    return value


def _whole(value: Any, low: int, high: int, where: str, problems: _Problems, default: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        problems.add(where, f"expected a whole number in {low}..{high}, got {value!r}")
        return default
    return value


def _seconds(value: Any, where: str, problems: _Problems) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0.5 <= value <= 60:
        problems.add(where, f"expected seconds between 0.5 and 60, got {value!r}")
        return 5.0
    return float(value)


def _category(value: Any, where: str, problems: _Problems) -> str | None:
    if not isinstance(value, str) or not _CATEGORY.fullmatch(value):
        problems.add(where, f"{value!r} is not a category name (1-40 of a-z, 0-9, _ and -)")
        return None
    return value


def _digit(value: Any, where: str, problems: _Problems) -> str | None:
    if not isinstance(value, str) or len(value) != 1 or value not in DIGITS:
        problems.add(where, f"{value!r} is not one DTMF digit (0-9, * or #)")
        return None
    return value


def _node(name: str, table: Any, problems: _Problems) -> MenuNode | None:
    where = f"[nodes.{name}]"
    if not _NAME.fullmatch(name):
        problems.add(where, "node names are 1-40 characters of a-z, 0-9 and _, starting with a letter")
    if not isinstance(table, dict):
        problems.add(where, "must be a table")
        return None
    try:
        action = Action(table.get("action"))
    except ValueError:
        problems.add(
            where, f"action {table.get('action')!r} is not one of {', '.join(a.value for a in Action)}"
        )
        return None
    allowed = _COMMON | _ACCEPTS[action]
    for key in sorted(set(table) - allowed):
        problems.add(where, f"unknown key {key!r} for action {action.value!r}")
    for key in sorted(_REQUIRES[action] - set(table)):
        problems.add(where, f"action {action.value!r} needs {key!r}")
    values: dict[str, Any] = {"name": name, "action": action}
    for key in ("prompts", "invalid_prompts", "ask_prompts", "handler_prompts", "unavailable_prompts"):
        if key in table:
            values[key] = _sounds(table[key], f"{where} {key}", problems)
    for key in ("prompts", "ask_prompts"):
        if key in _REQUIRES[action] and key in table and not values[key]:
            problems.add(where, f"{key} must name at least one sound file")
    if "number_prompt" in table:
        values["number_prompt"] = _sound(table["number_prompt"], f"{where} number_prompt", problems)
    if "timeout_s" in table:
        values["timeout_s"] = _seconds(table["timeout_s"], f"{where} timeout_s", problems)
    if "retries" in table:
        values["retries"] = _whole(table["retries"], 0, 9, f"{where} retries", problems, 2)
    if "max_digits" in table:
        values["max_digits"] = _whole(table["max_digits"], 1, 20, f"{where} max_digits", problems, 10)
    if "limit" in table:
        values["limit"] = _whole(table["limit"], 1, 10, f"{where} limit", problems, 3)
    for key in ("next", "on_failure", "on_handler"):
        if key in table:
            if isinstance(table[key], str):
                values[key] = table[key]
            else:
                problems.add(f"{where} {key}", f"expected a node name, got {table[key]!r}")
    if "category" in table:
        values["category"] = _category(table["category"], f"{where} category", problems)
    if "options" in table:
        options = table["options"]
        if not isinstance(options, dict) or not options:
            problems.add(f"{where} options", "expected a table of digit = node name")
        else:
            for digit, target in options.items():
                _digit(digit, f"{where} options", problems)
                if not isinstance(target, str):
                    problems.add(f"{where} options", f"digit {digit!r} must lead to a node name")
            values["options"] = {str(d): str(t) for d, t in options.items()}
    if "handler_digit" in table:
        values["handler_digit"] = _digit(table["handler_digit"], f"{where} handler_digit", problems)
        for key in ("handler_prompts", "on_handler"):
            if key not in table:
                problems.add(where, f"handler_digit needs {key!r}")
    if "status_prompts" in table:
        statuses = table["status_prompts"]
        if not isinstance(statuses, dict):
            problems.add(f"{where} status_prompts", "expected a table of status = sound file name")
        else:
            for status in sorted(set(TICKET_STATUSES) - set(statuses)):
                problems.add(f"{where} status_prompts", f"no sound for status {status!r}")
            for status in sorted(set(statuses) - set(TICKET_STATUSES)):
                problems.add(f"{where} status_prompts", f"{status!r} is not a ticket status")
            values["status_prompts"] = {
                str(s): _sound(v, f"{where} status_prompts.{s}", problems) or "" for s, v in statuses.items()
            }
    return MenuNode(**values)


def _targets(node: MenuNode) -> list[tuple[str, str]]:
    found = [(key, getattr(node, key)) for key in ("next", "on_failure", "on_handler")]
    found += [(f"options.{d}", t) for d, t in node.options.items()]
    return [(key, target) for key, target in found if target is not None]


def _mapping(value: Any, where: str, problems: _Problems) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        problems.add(where, "must be a table")
        return {}
    return value


def _routing(document: Mapping[str, Any], problems: _Problems) -> Routing:
    table = _mapping(document.get("routing"), "[routing]", problems)
    for key in sorted(set(table) - {"default_queue", "queues", "tier_queues"}):
        problems.add("[routing]", f"unknown key {key!r}")
    default = table.get("default_queue", "support")
    if not isinstance(default, str) or not _QUEUE.fullmatch(default):
        problems.add("[routing] default_queue", f"{default!r} is not a queue name")
        default = "support"
    by_category: dict[str, str] = {}
    for category, queue in _mapping(table.get("queues"), "[routing.queues]", problems).items():
        _category(category, "[routing.queues]", problems)
        if not isinstance(queue, str) or not _QUEUE.fullmatch(queue):
            problems.add(f"[routing.queues] {category}", f"{queue!r} is not a queue name")
        else:
            by_category[category] = queue
    by_tier: dict[str, str] = {}
    for tier, queue in _mapping(table.get("tier_queues"), "[routing.tier_queues]", problems).items():
        if tier not in TIERS:
            problems.add("[routing.tier_queues]", f"{tier!r} is not a tier ({', '.join(TIERS)})")
        if not isinstance(queue, str) or not _QUEUE.fullmatch(queue):
            problems.add(f"[routing.tier_queues] {tier}", f"{queue!r} is not a queue name")
        else:
            by_tier[tier] = queue
    return Routing(default, by_category, by_tier)


def _priority(document: Mapping[str, Any], problems: _Problems) -> PriorityPolicy:
    table = _mapping(document.get("priority"), "[priority]", problems)
    known = {*TIERS, "open_escalation", "unknown_caller"}
    for key in sorted(set(table) - known):
        problems.add("[priority]", f"unknown key {key!r} (known: {', '.join(sorted(known))})")
    defaults = {"standard": 0, "gold": 5, "vip": 10, "open_escalation": 8, "unknown_caller": 0}
    values = {
        key: _whole(table.get(key, default), 0, MAX_PRIORITY, f"[priority] {key}", problems, default)
        for key, default in defaults.items()
    }
    return PriorityPolicy(
        {tier: values[tier] for tier in TIERS}, values["open_escalation"], values["unknown_caller"]
    )


def parse_menu(document: Mapping[str, Any], *, source: str = "ivr.toml") -> Menu:
    """Validate a parsed menu document (categories are knowledge-base and routing names, free to choose)."""
    problems = _Problems(source)
    for key in sorted(set(document) - {"start", "max_steps", "speech", "routing", "priority", "nodes"}):
        problems.add("top level", f"unknown key {key!r}")
    speech = _mapping(document.get("speech"), "[speech]", problems)
    for key in sorted(set(speech) - {"tts_application", "recognised_text_variable"}):
        problems.add("[speech]", f"unknown key {key!r}")
    tts = speech.get("tts_application", "")
    if not isinstance(tts, str) or (tts and not _APPLICATION.fullmatch(tts)):
        problems.add("[speech] tts_application", f"{tts!r} is not a dialplan application name")
        tts = ""
    variable = speech.get("recognised_text_variable", "SPEECH_TEXT")
    if not isinstance(variable, str) or not _VARIABLE.fullmatch(variable):
        problems.add("[speech] recognised_text_variable", f"{variable!r} is not a channel variable name")
        variable = "SPEECH_TEXT"
    max_steps = _whole(document.get("max_steps", 40), 5, 500, "max_steps", problems, 40)
    routing = _routing(document, problems)
    priority = _priority(document, problems)

    nodes: dict[str, MenuNode] = {}
    tables = _mapping(document.get("nodes"), "[nodes]", problems)
    # A broken node is reported once; references to it are not reported again.
    declared = set(tables)
    for name, table in tables.items():
        node = _node(name, table, problems)
        if node is not None:
            nodes[name] = node
    start = document.get("start")
    if not declared:
        problems.add("[nodes]", "the menu has no nodes")
    elif not isinstance(start, str) or start not in declared:
        problems.add("start", f"{start!r} is not a node ({', '.join(sorted(declared))})")
    for node in nodes.values():
        for key, target in _targets(node):
            if target not in declared:
                problems.add(f"[nodes.{node.name}] {key}", f"leads to unknown node {target!r}")
        if (
            node.action not in _TERMINAL
            and node.next is None
            and node.on_failure is None
            and not node.options
        ):
            problems.add(f"[nodes.{node.name}]", "leads nowhere (give it next or on_failure)")
    if not any(n.action is Action.QUEUE for n in nodes.values()):
        problems.add("[nodes]", "no node of action 'queue': callers could never reach an agent")
    if problems.items:
        raise MenuConfigError(problems.items)
    assert isinstance(start, str)
    return Menu(start, nodes, routing, priority, tts or None, variable, max_steps)
