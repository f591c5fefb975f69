"""Login throttling under parallel guesses, and links and counters that must not outlive their purpose."""
import threading

import pytest

from chalicelib.platform.ratelimit import RateLimit
from tests.integration.helpers import (
    PASSWORD,
    login,
    post_json,
    register,
    token_from,
    verified_member,
)

pytestmark = pytest.mark.usefixtures("stack")


def test_parallel_wrong_passwords_are_throttled_too(client, mailbox):
    email, _ = verified_member(client, mailbox)
    codes = []
    barrier = threading.Barrier(12)

    def guess(i):
        from chalicelib import members
        from chalicelib.platform.errors import AuthenticationError, RateLimitedError

        barrier.wait()
        try:
            members.login(email, f"wrong guess number {i}")
        except AuthenticationError:
            codes.append(401)
        except RateLimitedError:
            codes.append(429)

    threads = [threading.Thread(target=guess, args=(i,)) for i in range(12)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert codes.count(401) == 5 and codes.count(429) == 7


def test_a_successful_login_does_not_count_towards_the_throttle(client, mailbox):
    email, _ = verified_member(client, mailbox)
    for _ in range(8):
        login(client, email)


def test_an_old_reset_link_stops_working_after_a_reset(client, mailbox):
    email, _ = verified_member(client, mailbox)
    post_json(client, "/api/v1/password-reset", {"email": email})
    post_json(client, "/api/v1/password-reset", {"email": email})
    resets = [m for m in mailbox.wait_for(email, count=3) if "Reset" in m["subject"]]
    older, newer = resets[-2], resets[-1]
    assert post_json(client, "/api/v1/password-reset/confirm", {
        "token": token_from(newer, "/reset-password"), "password": "brand new password 1"}).status_code == 204
    assert post_json(client, "/api/v1/password-reset/confirm", {
        "token": token_from(older, "/reset-password"), "password": "attacker password 2"}).status_code == 400


def test_deletion_leaves_no_throttling_counter_keyed_by_the_address(client, mailbox, stack):
    email, headers = verified_member(client, mailbox)
    post_json(client, "/api/v1/session", {"email": email, "password": "a wrong password"})
    register(client, email)  # an "already registered" mail counts against the address
    before = {item.key for item in RateLimit.scan()}
    assert post_json(client, "/api/v1/me", {"password": PASSWORD}, headers=headers,
                     method="DELETE").status_code == 204
    after = {item.key for item in RateLimit.scan()}
    gone = before - after
    assert any(k.startswith("login:") for k in gone) and any(k.startswith("mail:") for k in gone)
