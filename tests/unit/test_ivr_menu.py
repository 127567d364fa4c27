"""IVR menus as data: the shipped file is valid, every kind of mistake is reported at once."""

from __future__ import annotations

import copy
import tomllib
from pathlib import Path
from typing import Any

import pytest

from ivr.errors import MenuConfigError
from ivr.menu import Action, PriorityPolicy, Routing, load_menu, parse_menu

SHIPPED = Path(__file__).resolve().parents[2] / "config" / "ivr.toml"


def shipped() -> dict[str, Any]:
    return tomllib.loads(SHIPPED.read_text("utf-8"))


def test_the_shipped_menu_is_valid() -> None:
    menu = load_menu(SHIPPED)
    assert menu.start == "welcome"
    assert menu.node("main").action is Action.MENU
    assert menu.node("main").choose("1") == "ticket_status"
    assert menu.node("main").choose("9") is None
    assert menu.node("main").choose(None) is None
    assert menu.node("main").timeout_ms == 5000
    assert menu.node("main").attempts == 3
    assert {n.action for n in menu.nodes.values()} == set(Action)
    assert menu.tts_application is None
    assert menu.speech_variable == "SPEECH_TEXT"


def changed(path: str, value: Any) -> dict[str, Any]:
    """The shipped document with one key set (`a.b.c`), or removed when value is ...."""
    document = copy.deepcopy(shipped())
    *parents, key = path.split(".")
    table = document
    for name in parents:
        table = table.setdefault(name, {})
    if value is ...:
        del table[key]
    else:
        table[key] = value
    return document


@pytest.mark.parametrize(
    ("path", "value", "problem"),
    [
        ("start", "nowhere", "start: 'nowhere' is not a node"),
        ("nodes.main.action", "dance", "action 'dance' is not one of"),
        ("nodes.main.options", {"1": "ticket_status", "12": "main"}, "'12' is not one DTMF digit"),
        ("nodes.main.options", {"1": "gone"}, "options.1: leads to unknown node 'gone'"),
        ("nodes.main.options", {}, "expected a table of digit = node name"),
        ("nodes.main.timeout_s", 0, "expected seconds between 0.5 and 60"),
        ("nodes.main.timeout_s", "5", "expected seconds between 0.5 and 60"),
        ("nodes.main.retries", 10, "expected a whole number in 0..9"),
        ("nodes.main.retries", True, "expected a whole number in 0..9"),
        ("nodes.main.prompts", ["hotline/main menu"], "are not sound file names"),
        ("nodes.main.prompts", "hotline/main-menu", "expected a list of sound file names"),
        ("nodes.main.prompts", [], "prompts must name at least one sound file"),
        ("nodes.main.on_failure", ..., "action 'menu' needs 'on_failure'"),
        ("nodes.main.on_failure", "void", "on_failure: leads to unknown node 'void'"),
        ("nodes.main.colour", "red", "unknown key 'colour' for action 'menu'"),
        ("nodes.main.category", "billing", "unknown key 'category' for action 'menu'"),
        ("nodes.faq_billing.category", "Billing!", "'Billing!' is not a category name"),
        ("nodes.faq_billing.category", ..., "action 'faq_category' needs 'category'"),
        ("nodes.faq_billing.limit", 0, "expected a whole number in 1..10"),
        ("nodes.ticket_status.status_prompts.waiting", ..., "no sound for status 'waiting'"),
        ("nodes.ticket_status.status_prompts.lost", "hotline/x", "'lost' is not a ticket status"),
        ("nodes.ticket_status.handler_prompts", ..., "handler_digit needs 'handler_prompts'"),
        ("nodes.ticket_status.handler_digit", "x", "'x' is not one DTMF digit"),
        ("nodes.welcome.max_digits", 50, "expected a whole number in 1..20"),
        ("nodes.Bad-Name", {"action": "goodbye"}, "node names are 1-40 characters"),
        ("nodes.extra", {"action": "menu", "prompts": ["a"], "options": {"1": "main"}}, "needs 'on_failure'"),
        ("nodes.loose", {"action": "identify", "ask_prompts": ["a"]}, "leads nowhere"),
        ("speech.tts_application", "Festival(x)", "is not a dialplan application name"),
        ("speech.recognised_text_variable", "SPEECH TEXT", "is not a channel variable name"),
        ("speech.engine", "x", "[speech]: unknown key 'engine'"),
        ("priority.vip", 101, "[priority] vip: expected a whole number in 0..100"),
        ("priority.platinum", 50, "unknown key 'platinum'"),
        ("routing.default_queue", "sup port", "is not a queue name"),
        ("routing.queues.billing", "bad queue", "is not a queue name"),
        ("routing.tier_queues.diamond", "vip", "'diamond' is not a tier"),
        ("max_steps", 1, "max_steps: expected a whole number in 5..500"),
        ("menus", {}, "top level: unknown key 'menus'"),
    ],
)
def test_each_mistake_is_named(path: str, value: Any, problem: str) -> None:
    with pytest.raises(MenuConfigError) as caught:
        parse_menu(changed(path, value), source="ivr.toml")
    assert any(problem in p for p in caught.value.problems), caught.value.problems
    assert all(p.startswith("ivr.toml: ") for p in caught.value.problems)


def test_every_problem_is_listed_at_once() -> None:
    document = changed("nodes.main.retries", 99)
    document["nodes"]["main"]["options"]["7"] = "nowhere"
    document["nodes"]["goodbye"]["action"] = "sing"
    with pytest.raises(MenuConfigError) as caught:
        parse_menu(document)
    assert len(caught.value.problems) == 3, caught.value.problems
    assert "invalid IVR menu:" in str(caught.value)


def test_a_menu_without_an_agent_queue_is_refused() -> None:
    document = shipped()
    del document["nodes"]["agent"]
    for node in document["nodes"].values():
        for key in ("on_failure", "on_handler"):
            if node.get(key) == "agent":
                node[key] = "goodbye"
        node.get("options", {}).pop("0", None)
    with pytest.raises(MenuConfigError, match="no node of action 'queue'"):
        parse_menu(document)


def test_a_missing_or_broken_file_is_a_menu_error(tmp_path: Path) -> None:
    with pytest.raises(MenuConfigError, match="not found"):
        load_menu(tmp_path / "none.toml")
    broken = tmp_path / "broken.toml"
    broken.write_text("[nodes\n", "utf-8")
    with pytest.raises(MenuConfigError, match="cannot be read"):
        load_menu(broken)


def test_changing_a_menu_needs_no_code() -> None:
    document = changed("nodes.main.options", {"9": "goodbye", "0": "agent"})
    document["nodes"]["main"]["timeout_s"] = 2.5
    menu = parse_menu(document)
    assert menu.node("main").choose("9") == "goodbye"
    assert menu.node("main").timeout_ms == 2500


POLICY = PriorityPolicy({"standard": 0, "gold": 5, "vip": 10}, open_escalation=8, unknown_caller=0)


@pytest.mark.parametrize(
    ("tier", "escalated", "priority"),
    [
        ("vip", False, 10),
        ("vip", True, 10),
        ("gold", False, 5),
        ("gold", True, 8),
        ("standard", False, 0),
        ("standard", True, 8),
        (None, False, 0),
        (None, True, 8),
    ],
)
def test_queue_priority(tier: str | None, escalated: bool, priority: int) -> None:
    assert POLICY.queue_priority(tier, escalated=escalated) == priority


ROUTING = Routing("support", {"billing": "billing"}, {"vip": "vip"})


@pytest.mark.parametrize(
    ("category", "tier", "queue"),
    [
        ("billing", "vip", "vip"),
        ("billing", "gold", "billing"),
        ("technical", "gold", "support"),
        (None, None, "support"),
        ("billing", None, "billing"),
    ],
)
def test_queue_choice(category: str | None, tier: str | None, queue: str) -> None:
    assert ROUTING.queue_for(category, tier) == queue
