"""The JSON shapes of the HTTP API: what a member, a partner or a visitor is shown.

Domain objects come in, plain dicts go out; times are RFC 3339 with ``Z``.
"""
from __future__ import annotations

from chalicelib import members, partners, statistics
from chalicelib.platform.clock import iso
from chalicelib.platform.settings import get_settings


def member_json(member) -> dict:
    """The member as ``/api/v1/me`` shows it (the same view the export holds)."""
    return members.profile(member)


def second_factor_json(token: str) -> dict:
    """A right password for a member with two-step sign-in: the token of the second step."""
    return {"status": "second_factor_required", "token": token,
            "methods": ["totp", "recovery_code"]}


def transaction_json(txn) -> dict:
    """A transaction as its partner sees it: no member id, no visitor, nothing of anyone."""
    return partners.transactions.transaction_view(txn)


def webhook_json(webhook: dict) -> dict:
    """A partner's webhook: its URL and when it was set; the secret only in the answer that
    issued it."""
    return {key: webhook[key] for key in ("url", "secret", "set_at") if key in webhook}


def ad_json(ad) -> dict:
    """An ad as ``GET /api/v1/ads/next`` shows it (no target: clicks go through eSO)."""
    return {"id": ad.ad_id, "slot": ad.slot, "title": ad.title, "body": ad.body,
            "image_url": ad.image_url, "click_url": ad.click_url}


def promotion_status_json(promotion, counts, engagement=None) -> dict:
    """What a partner may see of its promotion: status, aggregate counts and engagement
    figures (already under the K rule), never who."""
    k = get_settings().k_threshold
    shown = {"id": promotion.promotion_id, "status": promotion.status,
             "subject": promotion.subject, "created_at": iso(promotion.created_at),
             "topics": sorted(promotion.topics or ()),
             "counts": {name: statistics.suppression.suppress(int(getattr(counts, name)), k)
                        for name in ("delivered", "skipped", "failed")},
             "review_reason": promotion.review_reason}
    if engagement is not None:
        shown["engagement"] = engagement
    return shown


def policy_notice_json(member) -> dict:
    """The current policy, the version the member last answered, and what changed since."""
    from chalicelib.platform.policy import FIRST_VERSION, current_policy

    policy = current_policy()
    return {"current": {"version": policy.version, "effective_date": policy.effective_date},
            "confirmed": member.policy_confirmed or FIRST_VERSION,
            "changes": [{"version": v, "effective_date": eff, "summary": list(summary)}
                        for v, eff, summary in members.consent.policy_pending(member)]}
