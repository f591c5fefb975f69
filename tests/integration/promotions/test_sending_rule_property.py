"""Property: each send reaches exactly the members eligible at send time, each once.

Random members (consent, verification), then random interleavings of consent changes,
verifications, deletions, bounces, one-click unsubscribes and sends, against DynamoDB Local
and the local SES server. A small model of eligibility predicts who must receive each send.
"""
import uuid

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chalicelib import members, privacy, promotions
from chalicelib.members import consent
from chalicelib.members.consent import Provenance
from chalicelib.members.models import EmailClaim
from tests.integration.helpers import PASSWORD, token_from

pytestmark = pytest.mark.usefixtures("stack")

MEMBER = st.fixed_dictionaries({"offers": st.booleans(), "verified": st.booleans()})
OPERATION = st.one_of(
    st.tuples(st.just("set_offers"), st.integers(0, 4), st.booleans()),
    st.tuples(st.just("verify"), st.integers(0, 4)),
    st.tuples(st.just("delete"), st.integers(0, 4)),
    st.tuples(st.just("bounce"), st.integers(0, 4)),
    st.tuples(st.just("unsubscribe"), st.integers(0, 4)),
    st.tuples(st.just("send")),
)


@settings(max_examples=6, deadline=None, suppress_health_check=list(HealthCheck))
@given(people=st.lists(MEMBER, min_size=1, max_size=4),
       operations=st.lists(OPERATION, min_size=1, max_size=7))
def test_each_send_reaches_exactly_the_eligible_members_once(mailbox, people, operations):
    run = uuid.uuid4().hex[:8]
    model = []
    for i, person in enumerate(people):
        email = f"prop-{run}-{i}@example.org"
        members.register(members.Registration(email=email, password=PASSWORD, consents={
            "offers": person["offers"], "partner_promotions": False}), Provenance("registration"))
        token = token_from(mailbox.wait_for(email)[-1], "/verify")
        model.append({"email": email, "id": EmailClaim.get(email).member_id, "token": token,
                      "offers": person["offers"], "verified": False, "deleted": False,
                      "suppressed": False})
        if person["verified"]:
            members.verify_email(token, PASSWORD)
            model[-1]["verified"] = True

    sends = []
    for operation in operations:
        kind = operation[0]
        if kind == "send":
            offer = promotions.create("offer", f"Property {run} {len(sends)}", "Body")
            promotions.dispatch(offer.promotion_id)
            eligible = {m["email"] for m in model if m["offers"] and m["verified"]
                        and not m["deleted"] and not m["suppressed"]}
            sends.append((offer.subject, eligible))
            continue
        person = model[operation[1] % len(model)]
        if person["deleted"]:
            continue
        if kind == "set_offers":
            if not person["verified"]:
                # Only a signed-in (so confirmed) member changes consents; confirmation then
                # records the registration's choices.
                continue
            consent.change(person["id"], {"offers": operation[2]}, Provenance("preference_center"))
            person["offers"] = operation[2]
        elif kind == "verify" and not person["verified"]:
            members.verify_email(person["token"], PASSWORD)
            person["verified"] = True
        elif kind == "delete":
            privacy.erase_member(person["id"])
            person["deleted"] = True
        elif kind == "bounce":
            members.suppress(person["email"], "bounce")
            person["suppressed"], person["offers"] = True, False
        elif kind == "unsubscribe" and person["verified"]:  # links reach confirmed members only
            promotions.unsubscribe(promotions.unsubscribe_token(person["id"], "offers"))
            person["offers"] = False

    ours = {m["email"] for m in model}
    mails = mailbox.all()
    for subject, eligible in sends:
        got = [to for m in mails if m["subject"] == subject for to in m["destination"]["to"]
               if to in ours]
        assert sorted(got) == sorted(eligible), (subject, got, eligible)
