"""Every table that can hold a member's id or address is answered for by its owner's export
and erasure: found from the models themselves, so a new table cannot be forgotten."""
import pyotp
import pytest

from chalicelib import members, partners, privacy, promotions
from chalicelib.ops.tables import ALL_MODELS
from chalicelib.platform.errors import NotFoundError
from tests.integration.helpers import (
    PASSWORD,
    login,
    new_email,
    post_json,
    register,
    token_from,
)
from tests.integration.partner_helpers import click, new_partner, order, report
from tests.integration.webauthn_helpers import SoftAuthenticator

pytestmark = pytest.mark.usefixtures("stack")

# Attributes that name a member: the member id, or the member's own address.
IDENTIFYING = {"member_id", "email", "shared_email"}


# Tables whose "email" is an operator's (a person who runs eSO), never a member's: members'
# export and erasure do not apply; operator accounts are disabled with the CLI
# (docs/operators.md says what is kept and why).
OPERATOR_TABLES = {"operators"}


def holding_member_data() -> set:
    return {model for model in ALL_MODELS if IDENTIFYING & set(model.get_attributes())
            and model.Meta.table_suffix not in OPERATOR_TABLES}


def test_each_table_with_member_data_has_an_owner_that_exports_and_erases_it():
    covered = {}
    for owner in privacy.OWNERS:
        assert callable(owner.export_member) and callable(owner.erase_member), owner
        for model in owner.MEMBER_TABLES:
            covered[model] = owner
    missing = holding_member_data() - set(covered)
    assert not missing, (f"tables holding member data with no owner's export/erasure: "
                         f"{sorted(m.__name__ for m in missing)}; add them to the owning "
                         "package's MEMBER_TABLES and its export_member/erase_member")
    for model, owner in covered.items():
        # The owner is the package that defines the model (only it may touch the table).
        assert model.__module__.rsplit(".", 1)[0] == owner.__name__, model


def test_the_coverage_check_notices_a_table_nobody_erases(monkeypatch):
    monkeypatch.setattr(promotions, "MEMBER_TABLES", ())
    with pytest.raises(AssertionError, match="Delivery"):
        test_each_table_with_member_data_has_an_owner_that_exports_and_erases_it()


def _items_naming(model, member_id: str, email: str) -> list:
    found = []
    for item in model.scan(consistent_read=True):
        values = {name: getattr(item, name, None) for name in IDENTIFYING}
        if member_id in values.values() or email in values.values():
            found.append(item)
    return found


def test_a_member_with_data_in_every_table_is_exported_then_erased_everywhere(client, mailbox):
    """A journey that leaves the member in every table that can hold them, then erasure."""
    email = new_email("coverage")
    assert register(client, email).status_code == 202
    token = token_from(mailbox.wait_for(email)[-1], "/verify")
    assert post_json(client, "/api/v1/members/verify",
                     {"token": token, "password": PASSWORD}).status_code == 200
    session = login(client, email)                                       # a session
    member_id = client.http.get("/api/v1/me", headers=session).json_body["member"]["id"]
    post_json(client, "/api/v1/password-reset", {"email": email})        # a live token
    partner_id, key = new_partner("Coverage", contact_email=new_email("coverage-partner"))
    click_id = click(client, partner_id, session)                        # a click, signed in
    assert report(client, key, order(click_id)).status_code == 201       # a transaction
    assert post_json(client, f"/api/v1/partners/{partner_id}/contact",
                     {"message": "Hello"}, session).status_code == 202    # a contact record
    offer = promotions.create("offer", "Coverage offer", "Body")
    promotions.send_batch(offer.promotion_id, [member_id])               # a delivery
    promotion = promotions.create("partner", "Coverage deal", "Body", partner_id=partner_id)
    promotions.approve(promotion.promotion_id)
    promotions.send_batch(promotion.promotion_id, [member_id])           # an allowance used
    device = SoftAuthenticator(members.passkeys.relying_party()[1])
    options = post_json(client, "/api/v1/me/passkeys/options", {"password": PASSWORD}, session)
    assert post_json(client, "/api/v1/me/passkeys", {"credential": device.create(
        options.json_body["publicKey"])}, session).status_code == 201  # a passkey
    secret = post_json(client, "/api/v1/me/totp", {"password": PASSWORD}, session).json_body["secret"]
    assert post_json(client, "/api/v1/me/totp/confirm", {"code": pyotp.TOTP(secret).now()},
                     session).status_code == 200
    waiting = post_json(client, "/api/v1/session", {"email": email, "password": PASSWORD})
    assert waiting.json_body["status"] == "second_factor_required"   # a sign-in step waiting
    assert post_json(client, "/api/v1/me/consents", {"partner_promotions": False}, session,
                     method="PUT").status_code == 200  # partners to be told (a request)
    assert post_json(client, "/api/v1/contact", {"email": email, "topic": "privacy",
                                                 "message": "Erase me, please."}).status_code == 202

    holding = holding_member_data()
    before = {m.__name__: len(_items_naming(m, member_id, email)) for m in holding}
    assert all(before.values()), f"the journey leaves nothing in: {before}"

    export = privacy.export_member(member_id)
    for section in ("member", "consent_history", "sessions", "passkeys", "referral_clicks",
                    "partner_transactions", "partner_contacts", "promotions_received",
                    "partner_promotion_allowance", "promotion_preferences", "contact_messages"):
        assert export[section], section

    privacy.erase_member(member_id)
    after = {m.__name__: len(_items_naming(m, member_id, email)) for m in holding}
    assert not any(after.values()), f"left after erasure: {after}"
    with pytest.raises(NotFoundError):
        members.get_member(member_id)
    assert partners.export_member(member_id) == {"referral_clicks": [],
                                                 "partner_transactions": [],
                                                 "partner_contacts": [],
                                                 "partner_notices": []}
