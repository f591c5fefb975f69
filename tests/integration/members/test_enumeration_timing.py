"""Account enumeration by timing: known and unknown addresses take the same time.

Samples of known and unknown addresses are interleaved (so machine load hits both alike) and
compared with a two-sided Mann–Whitney U test. A difference fails only when it is both
statistically significant and large enough to matter (``MIN_EFFECT``): on a busy 2-core
machine a few hundred microseconds of noise can be significant, but cannot be exploited over a
network, while a skipped argon2 verification (~18 ms) or a skipped write-and-send would be.
"""
from __future__ import annotations

import math
import statistics
import time

import pytest

from tests.integration.helpers import PASSWORD, new_email, post_json, verified_member

pytestmark = pytest.mark.usefixtures("stack")


@pytest.fixture(autouse=True)
def uniform_answer_time(monkeypatch):
    """The stage's default, as deployed (the rest of the suite runs without the wait)."""
    monkeypatch.setenv("ESO_UNIFORM_ANSWER_MS", "250")

SAMPLES = 32
ALPHA = 0.01
MIN_EFFECT = 0.25  # relative difference of medians that would make enumeration practical
MIN_EFFECT_MS = 4.0


def mann_whitney_p(a: list, b: list) -> float:
    """Two-sided p-value of the Mann–Whitney U test (normal approximation, tie-corrected)."""
    pooled = sorted([(v, 0) for v in a] + [(v, 1) for v in b])
    ranks = [0.0] * len(pooled)
    i, tie_term = 0, 0.0
    while i < len(pooled):
        j = i
        while j + 1 < len(pooled) and pooled[j + 1][0] == pooled[i][0]:
            j += 1
        for k in range(i, j + 1):
            ranks[k] = (i + j) / 2 + 1
        t = j - i + 1
        tie_term += t ** 3 - t
        i = j + 1
    n1, n2 = len(a), len(b)
    r1 = sum(r for r, (_, group) in zip(ranks, pooled) if group == 0)
    u1 = r1 - n1 * (n1 + 1) / 2
    n = n1 + n2
    sigma = math.sqrt(n1 * n2 / 12 * ((n + 1) - tie_term / (n * (n - 1))))
    z = (u1 - n1 * n2 / 2) / sigma if sigma else 0.0
    return math.erfc(abs(z) / math.sqrt(2))


def test_mann_whitney_tells_apart_what_differs_and_not_what_does_not():
    same = [float(x % 7) for x in range(40)]
    assert mann_whitney_p(same, list(reversed(same))) > 0.5
    assert mann_whitney_p([float(x) for x in range(30)], [x + 20.0 for x in range(30)]) < 1e-4


def compare(timed_known, timed_unknown) -> dict:
    known, unknown = [], []
    for i in range(SAMPLES):
        pair = [(known, timed_known), (unknown, timed_unknown)]
        for samples, fn in (pair if i % 2 else reversed(pair)):
            started = time.perf_counter()
            fn(i)
            samples.append((time.perf_counter() - started) * 1000)
    m_known, m_unknown = statistics.median(known), statistics.median(unknown)
    diff = abs(m_known - m_unknown)
    return {"known_ms": m_known, "unknown_ms": m_unknown, "p": mann_whitney_p(known, unknown),
            "large": diff > MIN_EFFECT_MS and diff > MIN_EFFECT * min(m_known, m_unknown)}


def assert_indistinguishable(result: dict) -> None:
    assert not (result["p"] < ALPHA and result["large"]), (
        f"known {result['known_ms']:.1f} ms vs unknown {result['unknown_ms']:.1f} ms "
        f"(Mann–Whitney p = {result['p']:.2g})")


@pytest.fixture(scope="module")
def known_addresses(stack, mailbox):
    from chalice.test import Client

    from app import app
    from tests.conftest import ROOT

    with Client(app, stage_name="local", project_dir=str(ROOT)) as client:
        return [verified_member(client, mailbox)[0] for _ in range(SAMPLES // 4)]


def test_a_wrong_password_takes_as_long_for_a_known_address_as_for_an_unknown_one(
        client, known_addresses):
    # Four failures per address stay under the login throttle (5 per 15 minutes).
    unknown = [new_email("nobody") for _ in known_addresses]

    def attempt(addresses):
        def run(i):
            response = post_json(client, "/api/v1/session", {
                "email": addresses[i // 2 % len(addresses)], "password": PASSWORD + "-wrong"})
            assert response.status_code == 401
        return run

    assert_indistinguishable(compare(attempt(known_addresses), attempt(unknown)))


def test_a_password_reset_request_takes_as_long_for_a_known_address(client, known_addresses):
    def reset(addresses):
        def run(i):
            response = post_json(client, "/api/v1/password-reset",
                                 {"email": addresses[i // 2 % len(addresses)]})
            assert response.status_code == 202
        return run

    unknown = [new_email("nobody") for _ in known_addresses]
    assert_indistinguishable(compare(reset(known_addresses), reset(unknown)))


def test_registering_a_known_address_takes_as_long_as_a_new_one(client, known_addresses):
    def register(addresses):
        def run(i):
            response = post_json(client, "/api/v1/members", {
                "email": addresses(i), "password": PASSWORD,
                "consents": {"offers": False, "partner_promotions": False}})
            assert response.status_code == 202
        return run

    new = [new_email("fresh") for _ in range(SAMPLES)]
    assert_indistinguishable(compare(register(lambda i: known_addresses[i // 2 % len(known_addresses)]),
                                     register(lambda i: new[i])))
