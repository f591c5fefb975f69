"""Partners' webhooks: which URLs eSO will ever connect to (no SSRF, at registration and again
at each delivery), the signature partners check, and the secret kept sealed per partner."""
import hashlib
import hmac
import socket

import pytest

from chalicelib.partners import notices, webhooks
from chalicelib.platform.errors import SettingsError, ValidationError


@pytest.fixture
def aws_stage(monkeypatch):
    monkeypatch.setenv("ESO_STAGE", "prod")
    monkeypatch.delenv("ESO_WEBHOOK_LOCAL_HOSTS", raising=False)


@pytest.fixture
def local_stage(monkeypatch):
    monkeypatch.setenv("ESO_STAGE", "local")
    monkeypatch.setenv("ESO_WEBHOOK_LOCAL_HOSTS", "127.0.0.1")


@pytest.mark.parametrize("url", [
    "http://shop.example/eso",                      # not TLS
    "ftp://shop.example/eso",
    "https://user:pass@shop.example/eso",           # credentials
    "https://token@shop.example/eso",
    "https://10.0.0.8/eso", "https://172.16.5.4/eso", "https://192.168.1.1/eso",  # private
    "https://127.0.0.1/eso", "https://127.0.0.1:8443/eso",                        # loopback
    "https://169.254.169.254/latest/meta-data/",    # link-local: the metadata address
    "https://100.64.0.1/eso", "https://0.0.0.0/eso", "https://224.0.0.1/eso",
    "https://[::1]/eso", "https://[fe80::1]/eso", "https://[fd00::1]/eso",
    "https://[::ffff:10.0.0.1]/eso",                # IPv4-mapped private
    "https://localhost/eso", "https://api.localhost/eso", "https://printer.local/eso",
    "https://metadata.google.internal/eso", "https://intranet/eso",
    "https://2130706433/eso", "https://0x7f000001/eso", "https://127.1/eso",  # numeric tricks
    "https://shop.example:99999/eso", "https:///eso", "https://shop .example/eso",
    "https://shop.example/eso\n", "https://shop.example/café", "https://bücher.example/eso",
    "", "x" * 10, "https://" + "a" * 2000 + ".example/",
    None, 42,
    "https://[::1", "https://[zz]/", "https://]/", "https://[v1.x]/",   # not a host at all
    "https://[2002:7f00:1::]/eso", "https://[2002:a00:8::]/eso",       # 6to4 of 127.0.0.1, 10.0.0.8
])
def test_urls_that_could_reach_inside_or_are_not_https_are_refused(aws_stage, url):
    with pytest.raises(ValidationError) as refused:
        webhooks.check_url(url)
    assert (refused.value.code, refused.value.field) == ("invalid_webhook_url", "url")


@pytest.mark.parametrize("url", [
    "https://shop.example/eso-notices", "https://hooks.shop.example:8443/eso?key=1",
    "https://93.184.216.34/eso", "https://[2606:4700:4700::1111]/eso",
])
def test_public_https_urls_are_accepted(aws_stage, url):
    assert webhooks.check_url(url) == url


def test_the_local_stage_allows_its_own_receivers_over_http(local_stage):
    assert webhooks.check_url("http://127.0.0.1:8765/hook") == "http://127.0.0.1:8765/hook"
    for url in ("http://10.0.0.8/hook", "http://localhost:8765/hook"):  # only the listed hosts
        with pytest.raises(ValidationError):
            webhooks.check_url(url)


def test_other_stages_refuse_the_local_allow_list(monkeypatch):
    monkeypatch.setenv("ESO_STAGE", "prod")
    monkeypatch.setenv("ESO_WEBHOOK_LOCAL_HOSTS", "127.0.0.1")
    with pytest.raises(SettingsError, match="ESO_WEBHOOK_LOCAL_HOSTS"):
        webhooks.check_url("https://127.0.0.1/hook")


def test_a_name_that_resolves_inside_is_never_connected_to(aws_stage, monkeypatch):
    """DNS rebinding: the name was public at registration; at delivery it points inside."""
    connected = []
    monkeypatch.setattr(socket, "getaddrinfo", lambda host, port, **kw: [
        (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("93.184.216.34", port)),
        (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("10.0.0.8", port))])
    monkeypatch.setattr(socket, "create_connection", lambda *a, **kw: connected.append(a))
    assert webhooks.post("https://shop.example/eso", b"{}", {}) == "refused_address"
    assert connected == []


def test_a_delivery_connects_to_the_address_it_checked(aws_stage, monkeypatch):
    connected = []

    def refuse(address, timeout=None, **kw):
        connected.append(address)
        raise ConnectionRefusedError

    monkeypatch.setattr(socket, "getaddrinfo", lambda host, port, **kw: [
        (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("93.184.216.34", port))])
    monkeypatch.setattr(socket, "create_connection", refuse)
    assert webhooks.post("https://shop.example:8443/eso", b"{}", {}) == "connection_failed"
    assert connected == [("93.184.216.34", 8443)]


def test_the_signature_is_hmac_sha256_of_time_dot_body_in_hex():
    body = b'{"notice_id":"n1","event":"gpc","click_ids":["c1"],"sent_at":"2026-12-01T09:00:00Z"}'
    header = webhooks.signature("whsec_abc", 1796115600, body)
    expected = hmac.new(b"whsec_abc", b"1796115600." + body, hashlib.sha256).hexdigest()
    assert header == f"t=1796115600,v1={expected}"
    assert webhooks.signature("whsec_abd", 1796115600, body) != header
    assert webhooks.signature("whsec_abc", 1796115601, body) != header


def test_a_sealed_secret_opens_only_for_its_partner(moto_world):
    secret = webhooks.new_secret()
    sealed = webhooks.seal_secret("ptn_one", secret)
    assert secret not in sealed and secret.startswith("whsec_") and len(secret) > 40
    assert webhooks.unseal_secret("ptn_one", sealed) == secret
    with pytest.raises(ValueError):
        webhooks.unseal_secret("ptn_two", sealed)  # copied onto another partner: useless


def test_retries_back_off_from_a_minute_to_six_hours():
    waits = [notices.retry_wait(n).total_seconds() for n in (1, 2, 3, 4, 9, 10, 40)]
    assert waits == [60, 120, 240, 480, 15360, 21600, 21600]
