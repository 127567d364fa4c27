"""The `hotline` command: serve, demo, migrate, agents, customers and campaigns."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import getpass
import logging
import os
import signal
import sys
from collections.abc import Coroutine, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import asyncpg

from hotline.logs import configure_logging
from hotline.settings import ConfigError, Settings, describe_keys, load_settings

if TYPE_CHECKING:
    from agents import AccountService

log = logging.getLogger("hotline")
EXIT_CONFIG = 2


def _parser() -> argparse.ArgumentParser:
    keys = "\n".join(
        f"  {env:<32} [{dotted}] default {default or '(unset)'}" for dotted, env, default in describe_keys()
    )
    parser = argparse.ArgumentParser(
        prog="hotline",
        description="Hotline: call-center CTI and service automation for Asterisk.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=f"settings (config file key, or environment variable):\n{keys}",
    )
    parser.add_argument(
        "--config",
        type=Path,
        default=None,
        help="settings file (default: $HOTLINE_CONFIG, else config/hotline.toml when present)",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    commands.add_parser("serve", help="run Hotline against a real Asterisk (HOTLINE_AMI_URL)")
    demo = commands.add_parser("demo", help="run Hotline with the built-in PBX simulator and demo data")
    demo.add_argument("--calls-per-minute", type=float, default=3.0, help="simulated call rate (default 3)")
    commands.add_parser("migrate", help="apply database migrations and exit")

    agents = commands.add_parser("agents", help="manage agent accounts").add_subparsers(
        dest="agents_command", required=True, metavar="ACTION"
    )
    add = agents.add_parser("add", help="create an account (asks for the password)")
    add.add_argument("--username", required=True)
    add.add_argument("--display-name", default=None, help="name shown to colleagues (default: the username)")
    add.add_argument("--role", choices=["agent", "supervisor", "admin"], default="agent")
    add.add_argument(
        "--interface",
        action="append",
        default=[],
        help="PBX interface that rings this agent, e.g. PJSIP/1001 or Local/1001@agents (repeatable)",
    )
    add.add_argument("--password-stdin", action="store_true", help="read the password from standard input")
    agents.add_parser("list", help="list accounts")
    handle = agents.add_parser(
        "handle", help="set which tickets an agent handles (department, skills, capacity)"
    )
    handle.add_argument("--username", required=True)
    handle.add_argument("--department", required=True, help="e.g. support, billing desk")
    handle.add_argument(
        "--skill",
        action="append",
        default=[],
        help="a ticket category they can take, e.g. billing (repeatable)",
    )
    handle.add_argument("--capacity", type=int, default=10, help="open tickets at once (default 10)")

    customers = commands.add_parser("customers", help="manage customer records").add_subparsers(
        dest="customers_command", required=True, metavar="ACTION"
    )
    imp = customers.add_parser("import", help="import customers from a CSV file")
    imp.add_argument("file", type=Path, help="CSV with columns customer_no,name,phone,email,tier,birthday")

    campaigns = commands.add_parser("campaigns", help="outbound campaigns").add_subparsers(
        dest="campaigns_command", required=True, metavar="ACTION"
    )
    campaigns.add_parser("list", help="list campaigns with their state and leads left")
    leads = campaigns.add_parser("import-leads", help="add leads to a campaign from a CSV file")
    leads.add_argument("campaign_id", type=int, help="the campaign's id (see `hotline campaigns list`)")
    leads.add_argument("file", type=Path, help="CSV with columns phone,name and optionally timezone")
    return parser


def _config_path(arg: Path | None, environ: dict[str, str]) -> Path | None:
    if arg is not None:
        return arg
    if environ.get("HOTLINE_CONFIG"):
        return Path(environ["HOTLINE_CONFIG"])
    default = Path("config/hotline.toml")
    return default if default.exists() else None


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `hotline` command; returns the exit code."""
    args = _parser().parse_args(argv)
    environ = dict(os.environ)
    try:
        settings = load_settings(_config_path(args.config, environ), environ)
    except ConfigError as exc:
        print(f"hotline: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    configure_logging(settings.log_level, settings.log_format)
    try:
        return asyncio.run(_run(args, settings))
    except KeyboardInterrupt:
        return 0


async def _run(args: argparse.Namespace, settings: Settings) -> int:
    from hotline import app, demo

    if args.command == "serve":
        if settings.ami is None:
            log.warning("HOTLINE_AMI_URL is not set: serving without a PBX (no calls will pop)")
        await _until_interrupted(app.serve(settings, settings.ami, _announce))
        return 0
    if args.command == "demo":
        await _until_interrupted(demo.run_demo(settings, calls_per_minute=args.calls_per_minute))
        return 0
    async with app.database(settings) as pool:
        if args.command == "migrate":
            print("database is up to date")
            return 0
        if args.command == "agents":
            return await _agents(args, settings, pool)
        if args.command == "customers":
            return await _customers(args, settings, pool)
        if args.command == "campaigns":
            return await _campaigns(args, settings, pool)
    raise AssertionError(f"unhandled command {args.command}")


async def _until_interrupted(main: Coroutine[object, None, None]) -> None:
    """Run until Ctrl-C or SIGTERM, then let the task unwind its resources in order."""
    loop = asyncio.get_running_loop()
    task = loop.create_task(main)
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, task.cancel)
    with contextlib.suppress(asyncio.CancelledError):
        await task
    log.info("Hotline stopped")


def _announce(url: str) -> None:
    print(f"Hotline is running at {url}  (Ctrl-C stops it)", flush=True)


async def _agents(args: argparse.Namespace, settings: Settings, pool: asyncpg.Pool) -> int:
    from agents import AccountService, DuplicateAccountError, InvalidAccountError, Role
    from agents.store import AccountStore

    accounts = AccountService(AccountStore(pool), token_ttl_s=settings.web.token_ttl_s)
    if args.agents_command == "handle":
        return await _handle(args, settings, pool, accounts)
    if args.agents_command == "list":
        for agent in await accounts.list_agents():
            print(
                f"{agent.username:<20} {agent.role.value:<10} {agent.display_name:<24} {', '.join(agent.interfaces)}"
            )
        return 0
    if args.password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = getpass.getpass(f"password for {args.username}: ")
        if password != getpass.getpass("repeat it: "):
            print("hotline: the two passwords differ; nothing was created", file=sys.stderr)
            return 1
    try:
        agent = await accounts.create_agent(
            username=args.username,
            display_name=args.display_name or args.username,
            password=password,
            role=Role(args.role),
            interfaces=args.interface,
        )
    except InvalidAccountError as exc:
        for field, problem in exc.problems.items():
            print(f"hotline: {field}: {problem}", file=sys.stderr)
        return 1
    except DuplicateAccountError as exc:
        print(f"hotline: {exc}", file=sys.stderr)
        return 1
    print(
        f"created {agent.role.value} {agent.username} ringing on {', '.join(agent.interfaces) or 'no interface'}"
    )
    return 0


async def _handle(
    args: argparse.Namespace, settings: Settings, pool: asyncpg.Pool, accounts: AccountService
) -> int:
    from tickets.assignment import handler_profile
    from tickets.errors import InvalidTicketError
    from tickets.store import TicketStore

    agent = await accounts.agent_named(args.username)
    if agent is None:
        print(
            f"hotline: there is no account {args.username!r}; create it with 'hotline agents add'",
            file=sys.stderr,
        )
        return 1
    try:
        department, skills = handler_profile(
            args.department, args.skill, args.capacity, settings.tickets.categories
        )
    except InvalidTicketError as exc:
        for field, problem in exc.problems.items():
            print(f"hotline: {field}: {problem}", file=sys.stderr)
        return 1
    await TicketStore(pool).set_handler(agent.id, department, skills, args.capacity)
    print(
        f"{args.username} handles {', '.join(skills) or 'no categories'} in {department}, "
        f"up to {args.capacity} open tickets"
    )
    return 0


async def _customers(args: argparse.Namespace, settings: Settings, pool: asyncpg.Pool) -> int:
    from customers.importer import format_report, import_csv
    from customers.store import CustomerStore

    store = CustomerStore(pool, default_country=settings.customers.default_country)
    try:
        text = args.file.read_text("utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        print(f"hotline: cannot read {args.file}: {exc}", file=sys.stderr)
        return 1
    report = await import_csv(store, text, default_country=settings.customers.default_country)
    print(format_report(report))
    return 0 if not report.rejected else 1


async def _campaigns(args: argparse.Namespace, settings: Settings, pool: asyncpg.Pool) -> int:
    from datetime import UTC, datetime

    from cti.dialer_store import DialerStore
    from cti.errors import CampaignNotFoundError
    from cti.leads_import import format_report, import_leads, parse_leads
    from customers.phone import normalise_phone

    store = DialerStore(pool)
    if args.campaigns_command == "list":
        for campaign in await store.campaigns():
            counts = await store.counts(campaign.id, datetime.now(UTC))
            print(
                f"{campaign.id:>4} {campaign.spec.name:<30} {campaign.spec.dial_method.value:<12} "
                f"{campaign.state.value:<8} {counts.leads_remaining} of {counts.leads_total} leads left"
            )
        return 0
    try:
        text = args.file.read_text("utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        print(f"hotline: cannot read {args.file}: {exc}", file=sys.stderr)
        return 1
    country = settings.customers.default_country
    parsed = parse_leads(text, lambda raw: normalise_phone(raw, country), settings.dialer.default_timezone)
    try:
        report = await import_leads(store, args.campaign_id, parsed)
    except CampaignNotFoundError as exc:
        print(f"hotline: {exc}", file=sys.stderr)
        return 1
    print(format_report(report))
    return 0 if not report.rejected else 1


if __name__ == "__main__":
    sys.exit(main())
