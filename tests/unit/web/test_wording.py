"""What pages say for the codes of the consent history: true sentences, never the codes."""
import pytest

from chalicelib.platform.vocabulary import PURPOSES, SOURCES
from chalicelib.web import wording


@pytest.mark.parametrize("purpose, granted, source, said", [
    ("offers", True, "registration", "You chose eSO offers when you signed up."),
    ("partner_promotions", False, "registration",
     "You did not choose partner promotions when you signed up."),
    ("partner_promotions", False, "preference_center",
     "You stopped partner promotions in your account."),
    ("offers", True, "preference_center", "You allowed eSO offers in your account."),
    ("offers", False, "unsubscribe_link",
     "You unsubscribed from eSO offers with the link in one of our e-mails."),
    ("partner_promotions", False, "bounce",
     "We stopped partner promotions because e-mail to your address could not be delivered."),
    ("offers", False, "complaint",
     "We stopped eSO offers because one of our e-mails was reported as spam from your mailbox."),
    ("offers", False, "account_deleted", "We stopped eSO offers when you deleted your account."),
    ("partner_promotions", False, "support_suppression",
     "We stopped partner promotions when our support team stopped all promotional e-mail to "
     "your address."),
    ("offers", False, "support_erasure",
     "We stopped eSO offers when our support team erased your account at your request."),
])
def test_each_source_has_its_own_true_sentence(purpose, granted, source, said):
    assert wording.consent_sentence(purpose, granted, source) == said


@pytest.mark.parametrize("source", SOURCES + ("a_source_added_later",))
@pytest.mark.parametrize("purpose", PURPOSES)
@pytest.mark.parametrize("granted", [True, False])
def test_no_sentence_shows_a_code_or_calls_anything_withdrawn(source, purpose, granted):
    said = wording.consent_sentence(purpose, granted, source)
    assert said.endswith(".") and said[0].isupper()
    assert "_" not in said  # no code such as partner_promotions or preference_center
    for word in ("registration", "withdrawn", "granted"):
        assert word not in said, said


def test_a_consent_notice_follows_the_state_it_is_given():
    assert wording.consent_notice("offers", False).startswith("Saved: you stopped eSO offers.")
    assert wording.consent_notice("partner_promotions", True).startswith(
        "Saved: you allowed partner promotions.")


@pytest.mark.parametrize("done, signed_in, shown", [
    ("logged-out", False, True), ("logged-out", True, False),
    ("logged-in", True, True), ("logged-in", False, False),
    ("<script>", False, False), (None, True, False), ("", False, False),
])
def test_redirect_notices_are_fixed_texts_shown_only_when_true(done, signed_in, shown):
    notice = wording.redirect_notice(done, signed_in)
    assert (notice is not None) is shown
    if notice:
        assert notice in (*wording.SIGNED_IN_NOTICES.values(), *wording.SIGNED_OUT_NOTICES.values())


@pytest.mark.parametrize("purpose, granted, source, value, said", [
    ("topic:software", False, "registration", None,
     "You left the topic “Software” of partner promotions unchosen when you signed up."),
    ("topic:software", True, "preference_center", None,
     "You turned the topic “Software” of partner promotions on in your account."),
    ("topic:gone", False, "preference_center", None,
     "You turned the topic “gone” of partner promotions off in your account."),
    ("frequency", True, "preference_center", "week",
     "You chose at most one a week for partner promotions in your account."),
    ("snooze", True, "snooze_link", "2027-01-15T09:00:00Z",
     "You paused every promotion until 2027-01-15 09:00 UTC with the link in one of our e-mails."),
    ("snooze", False, "preference_center", None, "You ended the pause of promotions in your account."),
])
def test_promotion_preferences_are_told_in_sentences(purpose, granted, source, value, said):
    entry = wording.history_entries([{"id": "e", "at": "2026-12-01T09:00:00Z",
                                      "policy_version": "v", "purpose": purpose,
                                      "granted": granted, "source": source, "value": value}],
                                    {"software": "Software"})[0]
    assert entry["text"] == said
    assert "_" not in said and "topic:" not in said
