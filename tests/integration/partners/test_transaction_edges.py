"""Partner reports at the edges: impossible sale times, and a report racing the member's erasure."""

import pytest

from chalicelib.members.models import EmailClaim
from tests.integration.helpers import (
    verified_member,
)
from tests.integration.partner_helpers import click, new_partner, order, report

pytestmark = pytest.mark.usefixtures("stack")


@pytest.mark.parametrize("instant", ["0001-01-01T00:00:00+05:00", "9999-12-31T23:59:59-05:00"])
def test_an_out_of_range_sale_time_is_a_400(client, instant):
    partner_id, key = new_partner("Range")
    response = report(client, key, order(click(client, partner_id), occurred_at=instant))
    assert response.status_code == 400
    assert response.json_body["error"]["code"] == "invalid_occurred_at"


def test_a_report_racing_an_erasure_never_keeps_the_member_link(client, mailbox, monkeypatch):
    from chalicelib import privacy
    from chalicelib.partners import transactions
    from chalicelib.partners.models import PartnerTransaction

    email, member = verified_member(client, mailbox)
    member_id = EmailClaim.get(email).member_id
    partner_id, _ = new_partner("Race")
    click_id = click(client, partner_id, member)
    real = transactions._usable_click

    def read_then_erase(*args, **kwargs):
        clicked = real(*args, **kwargs)
        assert clicked.member_id == member_id  # the report read the link...
        privacy.erase_member(member_id)          # ...and the member is erased before it writes
        return clicked

    monkeypatch.setattr(transactions, "_usable_click", read_then_erase)
    txn, created = transactions.report_transaction(
        partner_id, transactions.Report(click_id, "RACE-1", "5.00", "USD"))
    assert created
    assert PartnerTransaction.get(partner_id, "RACE-1", consistent_read=True).member_id is None
