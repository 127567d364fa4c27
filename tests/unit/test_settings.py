"""Settings assembly: defaults < file < environment, and one ConfigError listing every problem."""

from __future__ import annotations

from pathlib import Path

import pytest

from hotline.settings import ConfigError, describe_keys, load_settings


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "hotline.toml"
    path.write_text(text, "utf-8")
    return path


def test_defaults_without_file_or_environment() -> None:
    settings = load_settings(None, {})
    assert settings.web.port == 8080
    assert settings.web.host == "127.0.0.1"
    assert settings.database_url is None
    assert settings.ami is None
    assert settings.customers.default_country == "VN"
    assert settings.log_format == "text"


def test_environment_overrides_file_overrides_default(tmp_path: Path) -> None:
    path = write(tmp_path, "[server]\nport = 9000\nhost = '0.0.0.0'\n[customers]\ndefault_country = 'us'\n")
    settings = load_settings(path, {"HOTLINE_SERVER_PORT": "9100"})
    assert settings.web.port == 9100
    assert settings.web.host == "0.0.0.0"
    assert settings.customers.default_country == "US"


def test_ami_url_from_environment_keeps_the_secret_out_of_repr() -> None:
    settings = load_settings(
        None,
        {
            "HOTLINE_AMI_URL": "ami://cti:s3cr%40t@pbx.example.net:5039",
            "HOTLINE_DATABASE_URL": "postgresql://hotline:dbpass@db/hotline",
        },
    )
    assert settings.ami is not None
    assert (settings.ami.host, settings.ami.port, settings.ami.username) == ("pbx.example.net", 5039, "cti")
    assert settings.ami.secret == "s3cr@t"
    assert "s3cr" not in repr(settings)
    assert "dbpass" not in repr(settings)


def test_every_problem_is_reported_at_once(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "[server]\nport = 'eighty'\nprot = 1\n[logging]\nformat = 'xml'\n[database]\nurl = 'postgresql://u:p@h/d'\n",
    )
    with pytest.raises(ConfigError) as caught:
        load_settings(path, {"HOTLINE_AMI_URL": "http://nope", "HOTLINE_SERVR_PORT": "1"})
    problems = "\n".join(caught.value.problems)
    assert len(caught.value.problems) == 6, problems
    for needle in (
        "'eighty'",
        "server.prot",
        "'xml'",
        "HOTLINE_DATABASE_URL",
        "HOTLINE_AMI_URL",
        "HOTLINE_SERVR_PORT",
    ):
        assert needle in problems


@pytest.mark.parametrize(
    ("env", "needle"),
    [
        ({"HOTLINE_SERVER_PORT": "70000"}, "outside 0..65535"),
        ({"HOTLINE_SERVER_PORT": "true"}, "HOTLINE_SERVER_PORT"),
        ({"HOTLINE_CUSTOMERS_DEFAULT_COUNTRY": "Vietnam"}, "numbering"),
        ({"HOTLINE_CUSTOMERS_DEFAULT_COUNTRY": "ZZ"}, "numbering"),
        ({"HOTLINE_AMI_PING_INTERVAL_S": "-1"}, "between 0 and one day"),
        ({"HOTLINE_LOGGING_LEVEL": "LOUD"}, "not one of"),
        ({"HOTLINE_AMI_URL": "ami://host-without-user"}, "HOTLINE_AMI_URL"),
        ({"HOTLINE_AGENTS_PAUSE_REASONS": " , "}, "1 or more reasons"),
        ({"HOTLINE_AGENTS_WRAP_UP_S": "7200"}, "between 0 and one hour"),
        ({"HOTLINE_WALLBOARD_SERVICE_LEVEL_TARGET": "80"}, "not a share"),
        ({"HOTLINE_SERVER_WS_RESUME_GRACE_S": "0"}, "HOTLINE_SERVER_WS_RESUME_GRACE_S"),
    ],
)
def test_bad_values_are_refused_with_the_variable_named(env: dict[str, str], needle: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings(None, env)
    assert needle in str(caught.value)


def test_unreadable_file_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not found"):
        load_settings(tmp_path / "missing.toml", {})
    with pytest.raises(ConfigError, match="cannot be read"):
        load_settings(write(tmp_path, "[server\nport = 1"), {})


def test_shipped_config_file_is_valid() -> None:
    shipped = Path(__file__).resolve().parents[2] / "config" / "hotline.toml"
    settings = load_settings(shipped, {})
    assert settings.web.port == 8080


def test_every_key_has_an_environment_name() -> None:
    envs = [env for _, env, _ in describe_keys()]
    assert len(envs) == len(set(envs))
    assert all(env.startswith("HOTLINE_") for env in envs)


def test_ticket_settings_smtp_url_and_the_shipped_sla_policy() -> None:
    settings = load_settings(
        None,
        {
            "HOTLINE_TICKETS_CATEGORIES": "Billing, technical,billing",
            "HOTLINE_SMTP_URL": "smtp://mailer:p%40ss@mail.example.net?starttls",
            "HOTLINE_SERVER_PUBLIC_URL": "https://help.example.net",
        },
    )
    assert settings.tickets.categories == ("billing", "technical")
    assert settings.tickets.public_url == "https://help.example.net"
    assert settings.smtp is not None
    assert (settings.smtp.host, settings.smtp.port, settings.smtp.security) == (
        "mail.example.net",
        587,
        "starttls",
    )
    assert (settings.smtp.username, settings.smtp.password) == ("mailer", "p@ss")
    assert "p@ss" not in repr(settings)
    assert settings.sla.tiers == ("vip", "gold", "standard")
    assert load_settings(None, {"HOTLINE_SERVER_PORT": "8091"}).tickets.public_url == "http://127.0.0.1:8091"
    assert settings.sla.is_top_tier("vip")


def test_the_smtp_password_is_refused_in_the_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="set HOTLINE_SMTP_URL instead"):
        load_settings(write(tmp_path, "[smtp]\nurl = 'smtp://u:p@h'\n"), {})


def test_sla_problems_are_reported_with_the_other_problems(tmp_path: Path) -> None:
    sla = tmp_path / "sla.toml"
    sla.write_text("[urgent]\nvip = { first_response_min = 0 }\n", "utf-8")
    with pytest.raises(ConfigError) as caught:
        load_settings(
            None,
            {
                "HOTLINE_TICKETS_SLA_FILE": str(sla),
                "HOTLINE_TICKETS_CATEGORIES": "no spaces allowed",
            },
        )
    problems = "\n".join(caught.value.problems)
    assert "HOTLINE_TICKETS_CATEGORIES" in problems
    assert str(sla) in problems
    assert "urgent.vip" in problems


def test_agent_state_and_wallboard_settings_reach_their_dataclasses() -> None:
    settings = load_settings(
        None,
        {
            "HOTLINE_AGENTS_PAUSE_REASONS": "Break, Coaching",
            "HOTLINE_AGENTS_WRAP_UP_S": "15",
            "HOTLINE_WALLBOARD_SERVICE_LEVEL_S": "30",
            "HOTLINE_WALLBOARD_SERVICE_LEVEL_TARGET": "0.9",
            "HOTLINE_SERVER_WS_RESUME_BUFFER": "64",
        },
    )
    states = settings.agent_states
    assert states.pause_reasons == ("Break", "Coaching")
    assert (states.kpi.wrap_up_s, states.kpi.service_level_s, states.kpi.service_level_target) == (
        15,
        30,
        0.9,
    )
    assert settings.web.ws_resume_buffer == 64


def test_redis_url_only_from_the_environment_and_never_in_repr(tmp_path: Path) -> None:
    assert load_settings(None, {}).redis_url is None
    settings = load_settings(None, {"HOTLINE_REDIS_URL": "redis://:r3d1s@cache.example.net:6380/2"})
    assert settings.redis_url == "redis://:r3d1s@cache.example.net:6380/2"
    assert "r3d1s" not in repr(settings)
    with pytest.raises(ConfigError) as caught:
        load_settings(
            write(tmp_path, "[redis]\nurl = 'redis://:x@cache/0'\n"), {"HOTLINE_REDIS_URL": "http://cache"}
        )
    problems = "\n".join(caught.value.problems)
    assert "HOTLINE_REDIS_URL" in problems
    assert "secrets are read only from the environment" in problems
