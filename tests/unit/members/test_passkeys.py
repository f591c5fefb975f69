"""The relying party of passkeys follows the stage's base URL; an IP address cannot be one."""
import pytest

from chalicelib.members.passkeys import relying_party
from chalicelib.platform.errors import SettingsError


@pytest.fixture
def stage(monkeypatch):
    def set_stage(name, base_url=None, port=None):
        monkeypatch.setenv("ESO_STAGE", name)
        for variable, value in (("ESO_BASE_URL", base_url), ("ESO_APP_PORT", port)):
            if value is None:
                monkeypatch.delenv(variable, raising=False)
            else:
                monkeypatch.setenv(variable, value)
    return set_stage


def test_a_deployed_stage_uses_its_host(stage):
    stage("prod", "https://www.esmalloffice.example")
    assert relying_party() == ("www.esmalloffice.example", "https://www.esmalloffice.example")


def test_the_local_stage_on_127_0_0_1_uses_localhost_on_the_same_port(stage):
    stage("local", port="8123")
    assert relying_party() == ("localhost", "http://localhost:8123")


def test_a_deployed_stage_at_an_ip_address_has_no_passkeys(stage):
    stage("dev", "https://203.0.113.5")
    with pytest.raises(SettingsError):
        relying_party()


def test_the_app_and_the_account_page_modules_load_no_webauthn_totp_or_qr_library():
    """Cold start: py_webauthn (~0.3 s), pyotp, segno and cryptography load inside a ceremony,
    a code check or a QR drawing, never with the app or with the modules a page lists from."""
    import subprocess
    import sys
    from pathlib import Path

    probe = ("import sys, app; from chalicelib.members import passkeys, totp, records; "
             "print(sorted({m.split('.')[0] for m in sys.modules} & "
             "{'webauthn', 'pyotp', 'segno', 'cryptography', 'cbor2', 'OpenSSL'}))")
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True,
                         cwd=Path(__file__).resolve().parents[3])
    assert out.stdout.strip() == "[]"
