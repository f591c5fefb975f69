"""Settings are read from the environment in force, lazily, and fail loudly when missing."""
import pytest

from chalicelib.platform.errors import SettingsError
from chalicelib.platform.settings import get_settings


def test_local_stage_points_at_the_local_servers(monkeypatch):
    monkeypatch.setenv("ESO_STAGE", "local")
    monkeypatch.setenv("ESO_DYNAMODB_PORT", "18100")
    monkeypatch.delenv("ESO_SES_PORT", raising=False)
    monkeypatch.delenv("ESO_APP_PORT", raising=False)
    monkeypatch.delenv("ESO_BASE_URL", raising=False)
    settings = get_settings()
    assert settings.dynamodb_endpoint == "http://127.0.0.1:18100"
    assert settings.ses_endpoint == "http://127.0.0.1:8200"
    assert settings.base_url == "http://127.0.0.1:8000"


def test_aws_stages_use_the_default_endpoints(monkeypatch):
    monkeypatch.setenv("ESO_STAGE", "prod")
    monkeypatch.setenv("ESO_BASE_URL", "https://www.example.org/")
    assert get_settings().dynamodb_endpoint is None
    assert get_settings().ses_endpoint is None
    assert get_settings().base_url == "https://www.example.org"


def test_settings_follow_the_environment_without_a_restart(monkeypatch):
    monkeypatch.setenv("ESO_TABLE_PREFIX", "one-")
    assert get_settings().table_prefix == "one-"
    monkeypatch.setenv("ESO_TABLE_PREFIX", "two-")
    assert get_settings().table_prefix == "two-"


def test_a_missing_required_setting_fails_loudly(monkeypatch):
    monkeypatch.delenv("ESO_TABLE_PREFIX", raising=False)
    with pytest.raises(SettingsError, match="ESO_TABLE_PREFIX"):
        _ = get_settings().table_prefix


def test_an_inline_secret_is_refused_outside_the_local_stage(monkeypatch):
    monkeypatch.setenv("ESO_STAGE", "prod")
    monkeypatch.setenv("ESO_SECRET", "oops")
    with pytest.raises(SettingsError):
        _ = get_settings().inline_secret


def test_a_malformed_port_is_named(monkeypatch):
    monkeypatch.setenv("ESO_STAGE", "local")
    monkeypatch.setenv("ESO_DYNAMODB_PORT", "eighty")
    with pytest.raises(SettingsError, match="ESO_DYNAMODB_PORT"):
        _ = get_settings().dynamodb_endpoint


@pytest.mark.parametrize("value, origin", [
    ("https://d1234.cloudfront.net", "https://d1234.cloudfront.net"),
    ("https://static.example.org/", "https://static.example.org"),
    ("https://static.example.org:8443", "https://static.example.org:8443"),
])
def test_the_assets_origin_is_an_https_origin(monkeypatch, value, origin):
    monkeypatch.setenv("ESO_ASSETS_ORIGIN", value)
    assert get_settings().assets_origin == origin


def test_no_assets_origin_means_the_pages_own(monkeypatch):
    monkeypatch.delenv("ESO_ASSETS_ORIGIN", raising=False)
    assert get_settings().assets_origin is None


@pytest.mark.parametrize("value", [
    "http://d1234.cloudfront.net", "https://d1234.cloudfront.net/assets", "d1234.cloudfront.net",
    "https://", "https://cdn.example.org?x=1", "https://user@cdn.example.org",
    "https://cdn.example.org; script-src *", "https://cdn.example.org 'unsafe-inline'",
    # wildcards, open ports and empty query or fragment marks are not one origin
    "https://*.cloudfront.net", "https://*", "https://cdn.example.org:*",
    "https://cdn.example.org?", "https://cdn.example.org#", "https://cdn.example.org:99999x",
])
def test_an_assets_origin_that_is_not_an_https_origin_is_refused(monkeypatch, value):
    monkeypatch.setenv("ESO_ASSETS_ORIGIN", value)
    with pytest.raises(SettingsError, match="ESO_ASSETS_ORIGIN"):
        _ = get_settings().assets_origin
