"""Partner API keys without servers: which partner a key names, and that a rotated or disabled
partner's old key stops working at once."""
import re
from datetime import datetime, timedelta, timezone

import pytest

from chalicelib import partners
from chalicelib.partners import registry
from chalicelib.partners.models import Partner, PartnerKey
from chalicelib.platform.crypto import sha256_hex
from chalicelib.platform.errors import AuthenticationError, ConflictError, NotFoundError

START = datetime(2026, 12, 1, 9, tzinfo=timezone.utc)  # the fake clock's time
KEY = re.compile(r"^eso_pk_([0-9a-f]{16})_([A-Za-z0-9_-]{43})$")


def new_partner():
    return partners.create("Shop", "https://shop.example/",
                           privacy_policy_url="https://shop.example/privacy")


def refused(api_key):
    with pytest.raises(AuthenticationError) as error:
        partners.authenticate(api_key)
    assert error.value.code == "invalid_api_key"
    message = str(error.value)
    assert "valid partner API key" in message and message.endswith("Authorization: Bearer eso_pk_…")


def test_a_key_names_its_partner_and_only_its_hash_is_stored(moto_world):
    created = new_partner()
    match = KEY.match(created.api_key)
    assert match, created.api_key
    key_id, secret = match.groups()
    assert partners.authenticate(created.api_key) == created.partner_id
    item = PartnerKey.get(key_id)
    assert (item.partner_id, item.secret_hash, item.created_at) == (
        created.partner_id, sha256_hex(secret), START)
    assert Partner.get(created.partner_id).key_id == key_id
    other = new_partner()
    assert partners.authenticate(other.api_key) == other.partner_id != created.partner_id


def test_keys_are_unique(moto_world):
    keys = {registry._new_key("ptn_x", START)[0] for _ in range(20)}
    assert len(keys) == 20


def test_a_wrong_secret_for_a_real_key_id_is_refused(moto_world):
    created = new_partner()
    key_id = KEY.match(created.api_key).group(1)
    refused(f"eso_pk_{key_id}_{'A' * 43}")
    refused(created.api_key[:-1] + ("A" if created.api_key[-1] != "A" else "B"))


def test_an_unknown_key_id_is_refused(moto_world):
    created = new_partner()
    secret = KEY.match(created.api_key).group(2)
    refused(f"eso_pk_{'0' * 16}_{secret}")


def test_a_rotated_key_stops_working_and_the_new_one_works(moto_world):
    created = new_partner()
    moto_world.clock.advance(3600)
    rotated = partners.rotate_key(created.partner_id)
    assert rotated.partner_id == created.partner_id and rotated.api_key != created.api_key
    refused(created.api_key)
    assert partners.authenticate(rotated.api_key) == created.partner_id
    stored = Partner.get(created.partner_id)
    assert stored.key_id == KEY.match(rotated.api_key).group(1)
    assert stored.key_rotated_at == START + timedelta(hours=1)
    assert PartnerKey.count(KEY.match(created.api_key).group(1)) == 0


def test_rotating_a_partner_without_a_key_gives_it_one(moto_world):
    created = new_partner()
    Partner.get(created.partner_id).update(actions=[Partner.key_id.remove()])
    rotated = partners.rotate_key(created.partner_id)
    assert partners.authenticate(rotated.api_key) == created.partner_id


def test_a_rotation_racing_another_change_is_refused(moto_world, monkeypatch, says):
    created = new_partner()
    real_get = registry.get

    def stale_get(partner_id):
        partner = real_get(partner_id)
        partner.key_id = "0" * 16  # as read before another rotation
        return partner

    monkeypatch.setattr(registry, "get", stale_get)
    with pytest.raises(ConflictError) as error:
        partners.rotate_key(created.partner_id)
    assert error.value.code == "partner_changed"
    assert says(error.value, "partner changed meanwhile")
    monkeypatch.undo()
    assert partners.authenticate(created.api_key) == created.partner_id


def test_a_disabled_partner_s_key_stops_working_and_cannot_be_rotated(moto_world, says):
    created = new_partner()
    moto_world.clock.advance(60)
    disabled = partners.disable(created.partner_id)
    assert disabled.status == "disabled" and disabled.disabled_at == START + timedelta(minutes=1)
    assert disabled.key_id is None and disabled.listed is None
    refused(created.api_key)
    assert created.partner_id not in {p.partner_id for p in partners.list_active()}
    with pytest.raises(ConflictError) as error:
        partners.rotate_key(created.partner_id)
    assert error.value.code == "partner_disabled"
    assert says(error.value, f"{created.partner_id} is disabled")
    with pytest.raises(NotFoundError) as gone:
        partners.get_active(created.partner_id)
    assert gone.value.code == "not_found" and says(gone.value, "no such partner")
    again = partners.disable(created.partner_id)  # idempotent
    assert again.disabled_at == disabled.disabled_at


def test_disabling_a_partner_without_a_key_works(moto_world):
    created = new_partner()
    Partner.get(created.partner_id).update(actions=[Partner.key_id.remove()])
    assert partners.disable(created.partner_id).status == "disabled"


def test_an_active_partner_is_found_and_an_unknown_one_is_not(moto_world):
    created = new_partner()
    assert partners.get_active(created.partner_id).partner_id == created.partner_id
    with pytest.raises(NotFoundError):
        partners.get_active("ptn_000000000000")
