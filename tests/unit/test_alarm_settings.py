"""Alarm settings: the escalation policy file, the sweep interval and the signed webhook."""

from __future__ import annotations

from pathlib import Path

import pytest

from hotline.settings import ConfigError, load_settings


def test_defaults_load_the_shipped_policy_and_no_webhook() -> None:
    settings = load_settings(None, {})
    assert settings.alarms.sweep_interval_s == 15.0
    assert settings.alarms.webhook is None
    assert settings.alarms.policy.ladder[0].role == "team_lead"


def test_a_webhook_needs_its_secret_from_the_environment() -> None:
    with pytest.raises(ConfigError, match="HOTLINE_ALERT_WEBHOOK_SECRET"):
        load_settings(None, {"HOTLINE_ALERT_WEBHOOK_URL": "https://hooks.example.com/hotline"})
    settings = load_settings(
        None,
        {
            "HOTLINE_ALERT_WEBHOOK_URL": "https://hooks.example.com/hotline",
            "HOTLINE_ALERT_WEBHOOK_SECRET": "t0p-secret",
        },
    )
    assert settings.alarms.webhook is not None
    assert settings.alarms.webhook.secret == "t0p-secret"
    # Never shown: not in a repr, so not in a log line that prints the settings.
    assert "t0p-secret" not in repr(settings)


def test_the_secret_is_refused_in_the_file(tmp_path: Path) -> None:
    config = tmp_path / "hotline.toml"
    config.write_text('[alert]\nwebhook_secret = "in-a-file"\n', "utf-8")
    with pytest.raises(ConfigError, match="HOTLINE_ALERT_WEBHOOK_SECRET instead"):
        load_settings(config, {})


def test_a_broken_policy_file_is_reported_with_the_rest(tmp_path: Path) -> None:
    policy = tmp_path / "escalation.toml"
    policy.write_text("[warnings]\nshare = 2\n", "utf-8")
    with pytest.raises(ConfigError) as caught:
        load_settings(None, {"HOTLINE_ALERT_POLICY_FILE": str(policy), "HOTLINE_ALERT_SWEEP_INTERVAL_S": "0"})
    problems = "\n".join(caught.value.problems)
    assert "warnings.share" in problems
    assert "HOTLINE_ALERT_SWEEP_INTERVAL_S" in problems
