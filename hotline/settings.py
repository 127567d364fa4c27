"""Settings assembly: defaults < config/hotline.toml < HOTLINE_* environment, into one typed object.

Every key has one spelling in both places: `[database] url` in the file is
`HOTLINE_DATABASE_URL` in the environment. Secrets (the AMI secret, the database
password) are accepted only from the environment, and never appear in a repr or a log.
Every problem found is collected into one `ConfigError`, so a user fixes them all at once.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from cti.agent_service import DEFAULT_PAUSE_REASONS, AgentStateSettings
from cti.ami_client import AmiSettings
from cti.callback_service import CallbackSettings
from cti.campaigns import CALLER_ID_RE
from cti.click_to_dial import ClickToDialSettings
from cti.dialer import DialerSettings
from cti.kpi import KpiSettings
from customers.model import Tier
from customers.phone import COUNTRIES
from customers.settings import CustomerSettings
from ivr.errors import MenuConfigError
from ivr.fastagi import FastAgiSettings
from ivr.menu import Menu, load_menu
from ivr.settings import IvrSettings
from tickets.alarms import AlarmSettings
from tickets.errors import EscalationConfigError, SlaConfigError
from tickets.escalation import EscalationPolicy, load_escalation_policy
from tickets.service import TicketSettings
from tickets.sla import SlaPolicy, load_sla_policy
from tickets.smtp import SmtpSettings
from tickets.special_days import GreetingSettings
from tickets.webhook import WebhookSettings
from web_agent.settings import WebSettings

ENV_PREFIX = "HOTLINE_"
# Environment names that are not settings keys but are ours all the same.
_ENV_NOT_KEYS = ("HOTLINE_CONFIG", "HOTLINE_TEST_", "HOTLINE_BENCH_", "HOTLINE_FIXTURES")
# The shipped config/ folder of this checkout: the default SLA targets and business calendar.
CONFIG_DIR = Path(__file__).resolve().parent.parent / "config"
LOG_FORMATS = ("text", "json")
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")


class ConfigError(Exception):
    """The configuration has one or more problems; `problems` lists each in plain words."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("invalid configuration:\n" + "\n".join(f"  - {p}" for p in problems))
        self.problems = problems


@dataclass(frozen=True)
class Settings:
    """Everything Hotline needs to start, each feature's slice in its own dataclass."""

    web: WebSettings
    customers: CustomerSettings
    tickets: TicketSettings
    sla: SlaPolicy
    smtp: SmtpSettings | None
    alarms: AlarmSettings
    ami: AmiSettings | None
    agent_states: AgentStateSettings
    database_url: str | None = field(repr=False)
    # Several nodes: Redis carries the events every node must hear (knowledge-base changes).
    redis_url: str | None = field(repr=False)
    dialer: DialerSettings
    ivr: IvrSettings
    data_dir: Path
    log_level: str
    log_format: str
    greetings: GreetingSettings = field(default_factory=GreetingSettings)
    click_to_dial: ClickToDialSettings = field(default_factory=ClickToDialSettings)
    callbacks: CallbackSettings = field(default_factory=CallbackSettings)
    # The calendar of the service reports' days (the call center's zone).
    reports_timezone: str = "Asia/Ho_Chi_Minh"


@dataclass(frozen=True)
class _Key:
    section: str
    name: str
    parse: Callable[[Any], Any]
    default: Any
    secret: bool = False

    @property
    def env(self) -> str:
        return f"{ENV_PREFIX}{self.section}_{self.name}".upper()

    @property
    def dotted(self) -> str:
        return f"{self.section}.{self.name}"


def _text(value: Any) -> str:
    if not isinstance(value, str):
        raise ValueError(f"expected text, got {value!r}")
    return value


def _int_in(low: int, high: int) -> Callable[[Any], int]:
    def parse(value: Any) -> int:
        if isinstance(value, bool):
            raise ValueError(f"expected a whole number, got {value!r}")
        number = int(value)
        if not low <= number <= high:
            raise ValueError(f"{number} is outside {low}..{high}")
        return number

    return parse


def _seconds(value: Any) -> float:
    if isinstance(value, bool):
        raise ValueError(f"expected seconds, got {value!r}")
    number = float(value)
    if not 0 < number <= 86_400:
        raise ValueError(f"{value!r} seconds is not between 0 and one day")
    return number


def _choice(*allowed: str, upper: bool = False) -> Callable[[Any], str]:
    def parse(value: Any) -> str:
        text = _text(value).strip()
        text = text.upper() if upper else text.lower()
        if text not in allowed:
            raise ValueError(f"{value!r} is not one of {', '.join(allowed)}")
        return text

    return parse


def _words(value: Any, what: str) -> tuple[str, ...]:
    """A TOML list of strings, or one comma-separated string (environment), trimmed and without blanks."""
    items = value.split(",") if isinstance(value, str) else value
    if not isinstance(items, list | tuple) or not all(isinstance(i, str) for i in items):
        raise ValueError(f"expected a list of {what}, got {value!r}")
    return tuple(i.strip() for i in items if i.strip())


def _categories(value: Any) -> tuple[str, ...]:
    names = tuple(dict.fromkeys(name.lower() for name in _words(value, "category names")))
    bad = [n for n in names if not re.fullmatch(r"[a-z0-9_-]{1,40}", n)]
    if bad or not names:
        raise ValueError(
            f"categories are 1-40 characters of a-z, 0-9, '_' or '-' (bad: {bad or 'none given'})"
        )
    return names


def _reasons(value: Any) -> tuple[str, ...]:
    reasons = _words(value, "reasons")
    if not reasons or any(len(r) > 40 or "\r" in r or "\n" in r for r in reasons):
        raise ValueError("expected 1 or more reasons of at most 40 characters, without line breaks")
    return reasons


def _flag(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    text = _text(value).strip().lower()
    if text in ("true", "yes", "on", "1"):
        return True
    if text in ("false", "no", "off", "0"):
        return False
    raise ValueError(f"{value!r} is not true or false")


def _share(value: Any) -> float:
    if isinstance(value, bool):
        raise ValueError(f"expected a share between 0 and 1, got {value!r}")
    number = float(value)
    if not 0 < number <= 1:
        raise ValueError(f"{value!r} is not a share in (0, 1]")
    return number


def _seconds_or_zero(value: Any) -> float:
    if isinstance(value, bool):
        raise ValueError(f"expected seconds, got {value!r}")
    number = float(value)
    if not 0 <= number <= 3600:
        raise ValueError(f"{value!r} seconds is not between 0 and one hour")
    return number


def _country(value: Any) -> str:
    text = _text(value).strip().upper()
    if text not in COUNTRIES:
        raise ValueError(
            f"{value!r} is not a country Hotline knows the numbering of ({', '.join(sorted(COUNTRIES))})"
        )
    return text


def _context(value: Any) -> str:
    text = _text(value).strip()
    if not re.fullmatch(r"[\w.-]{1,80}", text):
        raise ValueError(f"{value!r} is not a dialplan context name")
    return text


def _timezone(value: Any) -> str:
    text = _text(value).strip()
    try:
        ZoneInfo(text)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"{value!r} is not a time zone such as Asia/Ho_Chi_Minh") from None
    return text


def _caller_id(value: Any) -> str:
    text = _text(value).strip()
    if not CALLER_ID_RE.match(text):
        raise ValueError(
            f'{value!r} is not a caller id: a number, optionally with a name: "Shop" <0281234567>'
        )
    return text


def _url(*schemes: str) -> Callable[[Any], str]:
    def parse(value: Any) -> str:
        text = _text(value).strip()
        if not text:
            return ""
        parts = urlsplit(text)
        if parts.scheme not in schemes:
            raise ValueError(f"URL scheme must be one of {', '.join(schemes)}")
        return text

    return parse


_KEYS = (
    _Key("server", "host", _text, "127.0.0.1"),
    _Key("server", "port", _int_in(0, 65535), 8080),
    _Key("server", "token_ttl_s", _int_in(300, 30 * 86_400), 12 * 3600),
    _Key("server", "ws_send_queue", _int_in(8, 100_000), 256),
    _Key("server", "public_url", _url("http", "https"), ""),
    _Key("server", "ws_resume_buffer", _int_in(0, 100_000), 512),
    _Key("server", "ws_resume_grace_s", _seconds, 120.0),
    _Key("database", "url", _url("postgresql", "postgres"), "", secret=True),
    _Key("ami", "url", _url("ami"), "", secret=True),
    _Key("redis", "url", _url("redis", "rediss"), "", secret=True),
    _Key("ami", "ping_interval_s", _seconds, 20.0),
    _Key("ami", "action_timeout_s", _seconds, 10.0),
    _Key("ami", "reconnect_max_s", _seconds, 30.0),
    _Key("customers", "default_country", _country, "VN"),
    _Key("tickets", "categories", _categories, ["billing", "technical", "account", "delivery", "other"]),
    _Key("tickets", "confirm_ttl_s", _int_in(3600, 90 * 86_400), 14 * 86_400),
    _Key("tickets", "sla_file", _text, str(CONFIG_DIR / "sla.toml")),
    _Key("tickets", "calendar_file", _text, str(CONFIG_DIR / "calendar.toml")),
    _Key("smtp", "url", _url("smtp", "smtps"), "", secret=True),
    _Key("smtp", "from_address", _text, "Hotline <support@hotline.invalid>"),
    _Key("alert", "policy_file", _text, str(CONFIG_DIR / "escalation.toml")),
    _Key("alert", "sweep_interval_s", _seconds, 15.0),
    _Key("alert", "webhook_url", _url("http", "https"), ""),
    _Key("alert", "webhook_secret", _text, "", secret=True),
    _Key("agents", "pause_reasons", _reasons, DEFAULT_PAUSE_REASONS),
    _Key("agents", "wrap_up_s", _seconds_or_zero, 0.0),
    _Key("wallboard", "service_level_s", _seconds, 20.0),
    _Key("wallboard", "service_level_target", _share, 0.8),
    _Key("dialer", "trunk_context", _context, "customers"),
    _Key("dialer", "default_timezone", _timezone, "Asia/Ho_Chi_Minh"),
    _Key("proactive", "timezone", _timezone, "Asia/Ho_Chi_Minh"),
    _Key("proactive", "greeting_hour", _int_in(0, 23), 9),
    _Key("proactive", "company_name", _text, "Hotline"),
    _Key("proactive", "dial_caller_id", _caller_id, '"Hotline" <5550100>'),
    _Key("proactive", "callback_poll_s", _seconds, 15.0),
    _Key("ivr", "enabled", _flag, False),
    _Key("ivr", "host", _text, "127.0.0.1"),
    _Key("ivr", "port", _int_in(0, 65535), 4573),
    _Key("ivr", "command_timeout_s", _seconds, 60.0),
    _Key("ivr", "menu_file", _text, str(CONFIG_DIR / "ivr.toml")),
    _Key("paths", "data_dir", _text, "var"),
    _Key("logging", "level", _choice(*LOG_LEVELS, upper=True), "INFO"),
    _Key("logging", "format", _choice(*LOG_FORMATS), "text"),
)


def load_settings(path: Path | None, environ: Mapping[str, str]) -> Settings:
    """Read defaults, then the TOML file (if any), then HOTLINE_* variables; raise ConfigError."""
    problems: list[str] = []
    file_values = _read_file(path, problems)
    by_env = {key.env: key for key in _KEYS}
    by_dotted = {key.dotted: key for key in _KEYS}

    for dotted in file_values:
        if dotted not in by_dotted:
            problems.append(f"{path}: unknown setting {dotted!r}")
    for name in environ:
        if name.startswith(ENV_PREFIX) and name not in by_env and not name.startswith(_ENV_NOT_KEYS):
            problems.append(f"unknown environment variable {name} (known: {', '.join(sorted(by_env))})")

    values: dict[str, Any] = {}
    for key in _KEYS:
        raw, origin = key.default, "default"
        if key.dotted in file_values:
            raw, origin = file_values[key.dotted], f"{path} [{key.section}] {key.name}"
            if key.secret and raw:
                problems.append(
                    f"{origin}: secrets are read only from the environment; set {key.env} instead"
                )
                continue
        if key.env in environ:
            raw, origin = environ[key.env], key.env
        try:
            values[key.dotted] = key.parse(raw)
        except (ValueError, TypeError) as exc:
            problems.append(f"{origin}: {exc}")

    ami: AmiSettings | None = None
    if not problems and values["ami.url"]:
        try:
            ami = AmiSettings.from_url(
                values["ami.url"],
                ping_interval_s=values["ami.ping_interval_s"],
                action_timeout_s=values["ami.action_timeout_s"],
                reconnect_max_s=values["ami.reconnect_max_s"],
            )
        except ValueError as exc:
            problems.append(f"HOTLINE_AMI_URL: {exc}")
    smtp: SmtpSettings | None = None
    if not problems and values["smtp.url"]:
        try:
            smtp = SmtpSettings.from_url(values["smtp.url"], from_address=values["smtp.from_address"])
        except ValueError as exc:
            problems.append(f"HOTLINE_SMTP_URL: {exc}")
    sla: SlaPolicy | None = None
    if "tickets.sla_file" in values and "tickets.calendar_file" in values:
        try:
            sla = load_sla_policy(
                Path(values["tickets.sla_file"]),
                Path(values["tickets.calendar_file"]),
                tiers=[t.value for t in sorted(Tier, reverse=True)],
            )
        except SlaConfigError as exc:
            problems.extend(exc.problems)
    escalation: EscalationPolicy | None = None
    if sla is not None and "alert.policy_file" in values:
        try:
            escalation = load_escalation_policy(Path(values["alert.policy_file"]), sla)
        except EscalationConfigError as exc:
            problems.extend(exc.problems)
    webhook: WebhookSettings | None = None
    if values.get("alert.webhook_url"):
        if not values.get("alert.webhook_secret"):
            # An unsigned alert could be forged by anyone who finds the URL: refuse to send one.
            problems.append(
                "HOTLINE_ALERT_WEBHOOK_URL is set: also set HOTLINE_ALERT_WEBHOOK_SECRET to sign alerts"
            )
        else:
            webhook = WebhookSettings(values["alert.webhook_url"], values["alert.webhook_secret"])
    menu: Menu | None = None
    if "ivr.menu_file" in values:
        try:
            menu = load_menu(Path(values["ivr.menu_file"]))
        except MenuConfigError as exc:
            problems.extend(exc.problems)
    if problems:
        raise ConfigError(problems)
    assert sla is not None
    assert escalation is not None
    assert menu is not None

    data_dir = Path(values["paths.data_dir"])
    return Settings(
        web=WebSettings(
            host=values["server.host"],
            port=values["server.port"],
            token_ttl_s=values["server.token_ttl_s"],
            ws_send_queue=values["server.ws_send_queue"],
            ws_resume_buffer=values["server.ws_resume_buffer"],
            ws_resume_grace_s=values["server.ws_resume_grace_s"],
        ),
        agent_states=AgentStateSettings(
            pause_reasons=values["agents.pause_reasons"],
            kpi=KpiSettings(
                service_level_s=values["wallboard.service_level_s"],
                service_level_target=values["wallboard.service_level_target"],
                wrap_up_s=values["agents.wrap_up_s"],
            ),
        ),
        customers=CustomerSettings(default_country=values["customers.default_country"]),
        tickets=TicketSettings(
            categories=values["tickets.categories"],
            public_url=values["server.public_url"]
            or f"http://{values['server.host']}:{values['server.port']}",
            confirm_ttl_s=values["tickets.confirm_ttl_s"],
        ),
        sla=sla,
        smtp=smtp,
        alarms=AlarmSettings(escalation, values["alert.sweep_interval_s"], webhook),
        ami=ami,
        database_url=values["database.url"] or None,
        redis_url=values["redis.url"] or None,
        dialer=DialerSettings(
            trunk_context=values["dialer.trunk_context"], default_timezone=values["dialer.default_timezone"]
        ),
        ivr=IvrSettings(
            enabled=values["ivr.enabled"],
            fastagi=FastAgiSettings(
                host=values["ivr.host"],
                port=values["ivr.port"],
                command_timeout_s=values["ivr.command_timeout_s"],
            ),
            menu=menu,
        ),
        data_dir=data_dir,
        log_level=values["logging.level"],
        log_format=values["logging.format"],
        greetings=GreetingSettings(
            timezone=values["proactive.timezone"],
            send_from_hour=values["proactive.greeting_hour"],
            company_name=values["proactive.company_name"],
        ),
        click_to_dial=ClickToDialSettings(
            trunk_context=values["dialer.trunk_context"], caller_id=values["proactive.dial_caller_id"]
        ),
        callbacks=CallbackSettings(poll_s=values["proactive.callback_poll_s"]),
        reports_timezone=values["proactive.timezone"],
    )


def _read_file(path: Path | None, problems: list[str]) -> dict[str, Any]:
    if path is None:
        return {}
    try:
        document = tomllib.loads(path.read_text("utf-8"))
    except FileNotFoundError:
        problems.append(f"{path}: configuration file not found")
        return {}
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        problems.append(f"{path}: cannot be read: {exc}")
        return {}
    flat: dict[str, Any] = {}
    for section, table in document.items():
        if not isinstance(table, dict):
            problems.append(f"{path}: {section!r} must be a [section]")
            continue
        for name, value in table.items():
            flat[f"{section}.{name}"] = value
    return flat


def describe_keys() -> list[tuple[str, str, str]]:
    """(file key, environment variable, default) for every setting, for the README and `--help`."""
    return [(key.dotted, key.env, "" if key.secret else _shown(key.default)) for key in _KEYS]


def _shown(default: Any) -> str:
    return ", ".join(default) if isinstance(default, tuple) else str(default)
