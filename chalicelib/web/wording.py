"""The words pages use for what the code calls by a code: consent purposes and sources,
statuses, and the confirmations shown after a change. Raw codes (``partner_promotions``,
``preference_center``) are for the JSON API and the export; a page shows these sentences."""
from __future__ import annotations

from chalicelib.platform.vocabulary import (
    FREQUENCY,
    OFFERS,
    PARTNER_PROMOTIONS,
    SNOOZE,
    TOPIC_PREFIX,
)

# How a purpose is named in a sentence ("You stopped partner promotions").
PURPOSE_NAMES = {OFFERS: "eSO offers", PARTNER_PROMOTIONS: "partner promotions"}
PURPOSE_TITLES = {OFFERS: "eSO offers", PARTNER_PROMOTIONS: "Partner promotions"}
PURPOSE_DESCRIPTIONS = {
    OFFERS: "“Contact me with special offers and services”: eSmallOffice's own offers, by e-mail.",
    PARTNER_PROMOTIONS: "product promotions from eSO's marketing partners. eSO sends them; "
                        "partners never get your address.",
}

TRANSACTION_STATES = {"reported": "Reported", "reversed": "Refunded (reversed)"}
CONTACT_STATES = {"sent": "Sent.", "sending": "Being sent.", "failed": "It could not be sent."}
# Notices asking a partner to unlink you: why it was told, and where the notice stands.
NOTICE_EVENTS = {"consent_withdrawn": "You stopped partner promotions",
                 "gpc": "Your browser's Global Privacy Control",
                 "erased": "Your account was deleted"}
NOTICE_STATES = {"acknowledged": "The partner confirmed it",
                 "sending": "Sent; not confirmed by the partner yet (we keep trying)",
                 "no_webhook": "Waiting: the partner has not given us an address for "
                               "notices yet",
                 "undeliverable": "Not confirmed after 30 days; our staff follow it up with "
                                  "the partner"}


# How often partner promotions may come, and how long a pause lasts.
FREQUENCY_LABELS = {"day": "at most one a day", "week": "at most one a week",
                    "month": "at most one a month"}
SNOOZE_LABELS = {"two_weeks": "2 weeks", "one_month": "1 month", "three_months": "3 months"}
_WHERE = {"registration": "when you signed up", "preference_center": "in your account",
          "snooze_link": "with the link in one of our e-mails"}


def preference_sentence(purpose: str, granted: bool, source: str, value: str | None,
                        topic_names: dict) -> str:
    """One promotion preference of the history (a topic, the frequency, a pause)."""
    where = _WHERE.get(source, "")
    if purpose.startswith(TOPIC_PREFIX):
        topic = purpose.removeprefix(TOPIC_PREFIX)
        name = topic_names.get(topic, topic)
        if source == "registration" and not granted:
            return f"You left the topic “{name}” of partner promotions unchosen when you signed up."
        state = "on" if granted else "off"
        return f"You turned the topic “{name}” of partner promotions {state} {where}.".replace(
            " .", ".")
    if purpose == FREQUENCY:
        label = FREQUENCY_LABELS.get(value or "", "a limit")
        return f"You chose {label} for partner promotions {where}.".replace(" .", ".")
    if purpose == SNOOZE and granted:
        until = (value or "")[:16].replace("T", " ")
        return f"You paused every promotion until {until} UTC {where}.".replace(" .", ".")
    return f"You ended the pause of promotions {where}.".replace(" .", ".")


def consent_sentence(purpose: str, granted: bool, source: str) -> str:
    """One event of the consent history as the member reads it, true for each source."""
    name = PURPOSE_NAMES.get(purpose, "messages from us")
    if source == "registration":
        return (f"You chose {name} when you signed up." if granted
                else f"You did not choose {name} when you signed up.")
    if source == "preference_center":
        return (f"You allowed {name} in your account." if granted
                else f"You stopped {name} in your account.")
    if source == "unsubscribe_link" and not granted:
        return f"You unsubscribed from {name} with the link in one of our e-mails."
    if source == "bounce" and not granted:
        return f"We stopped {name} because e-mail to your address could not be delivered."
    if source == "complaint" and not granted:
        return (f"We stopped {name} because one of our e-mails was reported as spam from "
                "your mailbox.")
    if source == "account_deleted" and not granted:
        return f"We stopped {name} when you deleted your account."
    if source == "gpc" and not granted:
        return (f"We stopped {name} because your browser sent a Global Privacy Control "
                "signal.")
    if source == "email_change":
        return (f"Your choice for {name} ({'allowed' if granted else 'stopped'}) carried over "
                "to your new e-mail address.")
    if source == "support_suppression" and not granted:
        return (f"We stopped {name} when our support team stopped all promotional e-mail to "
                "your address.")
    if source == "support_erasure" and not granted:
        return f"We stopped {name} when our support team erased your account at your request."
    if source == "policy_update":
        return (f"You chose {name} again when our privacy policy changed." if granted
                else f"You chose not to receive {name} when our privacy policy changed.")
    return f"{name[0].upper()}{name[1:]} {'allowed' if granted else 'stopped'}."


def history_entries(events: list, topic_names: dict | None = None) -> list:
    """The consent history for a page: time, sentence and policy version of each event."""
    return [{"id": e.get("id"), "at": e["at"], "policy_version": e["policy_version"],
             "text": (consent_sentence(e["purpose"], e["granted"], e["source"])
                      if e["purpose"] in PURPOSE_NAMES else preference_sentence(
                          e["purpose"], e["granted"], e["source"], e.get("value"),
                          topic_names or {}))} for e in events]


def choices(consents: dict) -> list:
    """The preference centre's rows: each purpose, its words and whether it is granted now."""
    return [{"purpose": purpose, "name": PURPOSE_NAMES[purpose],
             "title": PURPOSE_TITLES[purpose], "description": PURPOSE_DESCRIPTIONS[purpose],
             "granted": bool((consents.get(purpose) or {}).get("granted"))}
            for purpose in (OFFERS, PARTNER_PROMOTIONS)]


def consent_notice(purpose: str, granted: bool) -> str:
    """The confirmation after a member allowed or stopped a purpose, from its state now."""
    name = PURPOSE_NAMES[purpose]
    if granted:
        return (f"Saved: you allowed {name}. You can stop them here at any time, or with the "
                "link in each e-mail.")
    return f"Saved: you stopped {name}. We will not send you {name}; you can allow them again here."


# Confirmations shown after a redirect (``?done=<key>``): fixed texts, and only when true for
# the page that shows them (logged out only to a visitor, logged in only to a member).
SIGNED_OUT_NOTICES = {"logged-out": "You are logged out. Log in again to see members' offers."}
SIGNED_IN_NOTICES = {
    "logged-in": "You are logged in. On a shared computer, remember to log out when you are "
                 "done.",
    "name-changed": "Saved: your name is changed.",
    "password-changed": "Saved: your password is changed. Every other session was signed out.",
    "email-link-sent": "We sent a link to the new address. Open it to finish the change; until "
                       "then your address stays as it is.",
    "session-ended": "That session is signed out.",
    "sessions-ended": "Every other session is signed out.",
    "policy-answered": "Saved: your choices now stand under the current privacy policy.",
    "preferences-saved": "Saved: your topics and how often partner promotions may come.",
    "snoozed": "Saved: promotions are paused. You can end the pause here at any time.",
    "snooze-ended": "Saved: the pause is over; promotions come again as you chose them.",
}


def redirect_notice(done: str | None, signed_in: bool) -> str | None:
    if not done:
        return None
    return (SIGNED_IN_NOTICES if signed_in else SIGNED_OUT_NOTICES).get(done)
