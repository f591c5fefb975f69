"""Load on loopback: visitors, members and partners at once against ``chalice local``.

    python -m bench.load [--seconds 30] [--workers 8]

Worker threads run three scenarios in turn until the time is up: a visitor (home page, the next
ad of a slot, a click on it), a member (register, verify from the real e-mail, log in, flip
consents), and a partner's customer (a referral click, then the partner reports the order,
sometimes twice at once from two threads, as a retrying partner would). Afterwards the tables
are read back: one transaction per order id, each member's consent state equal to its last
event with an intact chain, and the counters equal to the successful requests. Reports
p50/p95/p99 per operation. ``measure()`` starts its own DynamoDB Local, SES server and
``chalice local``; tests call ``run()`` against the session's servers.

``chalice local`` serves each request on its own thread with one shared app object (Chalice
keeps ``current_request`` thread-local there), so one process takes concurrent requests.
"""
from __future__ import annotations

import argparse
import collections
import json
import random
import re
import sys
import threading
import time
import urllib.request
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timezone

import requests

PASSWORD = "correct horse battery staple"
SESSION_COOKIE = "__Host-eso_session"
VISITOR_COOKIE = "__Host-eso_vid"
DUPLICATE_SHARE = 0.3


class Recorder:
    """Latency and status of every request, and the unexpected ones."""

    def __init__(self):
        self.lock = threading.Lock()
        self.samples = collections.defaultdict(list)
        self.errors: list = []

    def call(self, op: str, expected: tuple, method: str, url: str, **kwargs):
        kwargs.setdefault("timeout", 30)
        kwargs.setdefault("allow_redirects", False)
        started = time.perf_counter()
        response = requests.request(method, url, **kwargs)
        elapsed = (time.perf_counter() - started) * 1000
        with self.lock:
            self.samples[op].append(elapsed)
            if response.status_code not in expected:
                self.errors.append((op, response.status_code, response.text[:200]))
        return response


def _cookie(response, name: str) -> str | None:
    for header in response.raw.headers.getlist("Set-Cookie"):
        if header.startswith(name + "="):
            return header.split(";")[0].split("=", 1)[1]
    return None


class Load:
    def __init__(self, base_url: str, ses_url: str, rng_seed: int = 0):
        from chalicelib import ads, partners

        self.base = base_url
        self.ses = ses_url
        self.rec = Recorder()
        self.lock = threading.Lock()
        self.rng = random.Random(rng_seed)
        tag = uuid.uuid4().hex[:8]
        created = partners.create(f"Load {tag}", "https://shop.example/landing",
                                  privacy_policy_url="https://shop.example/privacy")
        self.partner_id, self.key = created.partner_id, created.api_key
        self.slot = ads.declare_slot(f"load-{tag}").slot
        self.ads = [ads.create_ad(slot=self.slot, title=f"Ad {i}", target_url="https://ads.example/x",
                                  frequency_cap=50).ad_id for i in range(3)]
        self.counts = collections.Counter()  # successful counted requests, by counter
        self.orders: dict = {}  # order id -> body
        self.order_statuses = collections.defaultdict(list)
        self.members: dict = {}  # member email -> last consents acknowledged

    # --- scenarios ---------------------------------------------------------------------------

    def visitor(self) -> None:
        home = self.rec.call("GET /", (200,), "GET", self.base + "/")
        vid = _cookie(home, VISITOR_COOKIE)
        headers = {"Cookie": f"{VISITOR_COOKIE}={vid}"}
        ad = self.rec.call("GET /api/v1/ads/next", (200, 204), "GET",
                           f"{self.base}/api/v1/ads/next?slot={self.slot}", headers=headers)
        if ad.status_code == 200:
            self._count(f"ad_impressions|{ad.json()['ad']['id']}")
            ad_id = ad.json()["ad"]["id"]
            click = self.rec.call("GET /ads/{id}/click", (302,), "GET",
                                  f"{self.base}/ads/{ad_id}/click", headers=headers)
            if click.status_code == 302:
                self._count(f"ad_clicks|{ad_id}")

    def member(self) -> None:
        email = f"load-{uuid.uuid4().hex[:12]}@example.org"
        since = int(time.time()) - 1
        self.rec.call("POST /api/v1/members", (202,), "POST", self.base + "/api/v1/members",
                      json={"email": email, "password": PASSWORD,
                            "consents": {"offers": True, "partner_promotions": False}})
        token = self._verification_token(email, since)
        self.rec.call("POST /api/v1/members/verify", (200,), "POST",
                      self.base + "/api/v1/members/verify",
                      json={"token": token, "password": PASSWORD})
        login = self.rec.call("POST /api/v1/session", (200,), "POST", self.base + "/api/v1/session",
                              json={"email": email, "password": PASSWORD})
        cookie = {"Cookie": f"{SESSION_COOKIE}={_cookie(login, SESSION_COOKIE)}"}
        last = {"offers": True, "partner_promotions": False}
        for _ in range(4):
            wanted = {p: self.rng.random() < 0.5 for p in last}
            response = self.rec.call("PUT /api/v1/me/consents", (200,), "PUT",
                                     self.base + "/api/v1/me/consents", json=wanted,
                                     headers=cookie)
            if response.status_code == 200:
                last = {p: response.json()["consents"][p]["granted"] for p in last}
        with self.lock:
            self.members[email] = last

    def customer(self, pool: ThreadPoolExecutor) -> None:
        go = self.rec.call("GET /go/{partner}", (302,), "GET", f"{self.base}/go/{self.partner_id}")
        if go.status_code != 302:
            return
        self._count("referral_clicks")
        click_id = re.search(r"eso_click=([^&]+)", go.headers["Location"]).group(1)
        body = {"click_id": click_id, "order_id": f"load-{uuid.uuid4().hex[:12]}",
                "amount": f"{self.rng.randint(1, 9999) / 100:.2f}", "currency": "USD"}
        with self.lock:
            self.orders[body["order_id"]] = body
        copies = 2 if self.rng.random() < DUPLICATE_SHARE else 1
        for future in [pool.submit(self._report, body) for _ in range(copies)]:
            future.result()

    def _report(self, body: dict) -> None:
        response = self.rec.call("POST /partner/v1/transactions", (200, 201), "POST",
                                 self.base + "/partner/v1/transactions", json=body,
                                 headers={"Authorization": f"Bearer {self.key}"})
        with self.lock:
            self.order_statuses[body["order_id"]].append(response.status_code)

    # --- plumbing ----------------------------------------------------------------------------

    def _count(self, name: str) -> None:
        with self.lock:
            self.counts[name] += 1

    def _verification_token(self, email: str, since: int) -> str | None:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with urllib.request.urlopen(f"{self.ses}/store?since={since}", timeout=10) as answer:
                mails = [m for m in json.loads(answer.read())["emails"]
                         if email in (m["destination"].get("to") or [])]
            if mails:
                return re.search(r"/verify\?token=([A-Za-z0-9_-]+)",
                                 mails[-1]["body"]["text"]).group(1)
            time.sleep(0.05)
        return None

    def drive(self, seconds: float, workers: int) -> None:
        deadline = time.monotonic() + seconds
        scenarios = ["visitor", "visitor", "member", "customer"]

        def worker(index: int) -> None:
            turn = index
            while time.monotonic() < deadline:
                name = scenarios[turn % len(scenarios)]
                turn += 1
                if name == "customer":
                    self.customer(helpers)
                else:
                    getattr(self, name)()

        with ThreadPoolExecutor(workers, thread_name_prefix="helper") as helpers:
            with ThreadPoolExecutor(workers, thread_name_prefix="load") as pool:
                for future in [pool.submit(worker, i) for i in range(workers)]:
                    future.result()

    def settle(self) -> None:
        """Let the server write the impressions it holds. It writes them with the first
        impression it counts once its interval is over (statistics.counters.tally), and that
        one with them: so after the interval, one impression of the load's own slot, counted
        here, and no other request before it (a home page can show a home-slot ad, whose
        impression would be that first one and leave this one held)."""
        from chalicelib.statistics import counters

        time.sleep(counters.FLUSH_SECONDS + 0.5)
        home = self.rec.call("GET /api/v1/ads/next", (200, 204), "GET",
                             f"{self.base}/api/v1/ads/next?slot={self.slot}")
        if home.status_code == 200:
            self._count(f"ad_impressions|{home.json()['ad']['id']}")

    # --- what the tables say ---------------------------------------------------------------------

    def check(self) -> list:
        """Problems found in the tables after the run (empty when every write is as counted)."""
        from chalicelib.members import consent
        from chalicelib.members.models import EmailClaim, Member
        from chalicelib.partners import transactions
        from chalicelib.statistics import counters

        problems = []
        today = datetime.now(timezone.utc).date()
        stored, cursor = [], None
        while True:
            page, cursor = transactions.list_transactions(self.partner_id, today, today, cursor, 100)
            stored.extend(page)
            if not cursor:
                break
        ids = [t.order_id for t in stored]
        if sorted(ids) != sorted(self.orders):
            problems.append(f"{len(ids)} transactions stored ({len(set(ids))} distinct) "
                            f"for {len(self.orders)} orders")
        for order_id, statuses in self.order_statuses.items():
            if statuses.count(201) != 1:
                problems.append(f"order {order_id}: answers {statuses}, not one 201")
        for txn in stored:
            if txn.amount != self.orders.get(txn.order_id, {}).get("amount"):
                problems.append(f"order {txn.order_id}: stored amount {txn.amount}")
        expected = {"partner_transactions": len(self.orders),
                    "referral_clicks": self.counts["referral_clicks"]}
        got = {"partner_transactions": sum(sum(v.values()) for v in counters.daily_by_label(
                   "partner_transactions", today, today, dimension=self.partner_id).values()),
               "referral_clicks": sum(counters.daily("referral_clicks", today, today,
                                                  dimension=self.partner_id).values())}
        for ad_id in self.ads:
            for metric in ("ad_impressions", "ad_clicks"):
                expected[f"{metric}|{ad_id}"] = self.counts[f"{metric}|{ad_id}"]
                got[f"{metric}|{ad_id}"] = sum(counters.daily(metric, today, today,
                                                           dimension=ad_id).values())
        for name, value in expected.items():
            if got[name] != value:
                problems.append(f"counter {name}: {got[name]} stored, {value} counted")
        for email, last in self.members.items():
            member = Member.get(EmailClaim.get(email).member_id, consistent_read=True)
            state = {p: consent.is_granted(member, p) for p in last}
            events = consent.history(member.member_id)
            final = {e.purpose: e.granted for e in events}
            chain = consent.verify_chain(member.member_id)
            if state != last or final != last or chain:
                problems.append(f"member {member.member_id}: state {state}, last event {final}, "
                                f"acknowledged {last}, chain {chain}")
        return problems

    def rows(self, seconds: float) -> list:
        rows = []
        for op, values in sorted(self.rec.samples.items()):
            ordered = sorted(values)

            def pct(q: float) -> float:
                return ordered[min(len(ordered) - 1, int(q * len(ordered)))]

            rows.append({"operation": f"load: {op}", "requests": len(values),
                         "median_ms": pct(0.5), "p95_ms": pct(0.95), "p99_ms": pct(0.99),
                         "per_s": len(values) / seconds})
        return rows


def run(base_url: str, ses_url: str, seconds: float = 10.0, workers: int = 6) -> dict:
    """Drive the app at ``base_url`` for ``seconds``; returns rows, errors and problems."""
    load = Load(base_url, ses_url)
    with ThreadPoolExecutor(2) as helpers:  # warm up: first requests import the services
        load.visitor(), load.member(), load.customer(helpers)
    load.rec.samples.clear()
    started = time.monotonic()
    load.drive(seconds, workers)
    elapsed = time.monotonic() - started
    load.settle()
    return {"rows": load.rows(elapsed), "errors": load.rec.errors, "problems": load.check(),
            "orders": len(load.orders), "members": len(load.members),
            "duplicates": sum(1 for s in load.order_statuses.values() if len(s) > 1),
            "seconds": elapsed, "workers": workers}


def measure(seconds: float = 30.0, workers: int = 8) -> list:
    from bench.common import local_stack
    from devstack.servers import ChaliceLocal

    with local_stack() as env:
        app = ChaliceLocal(int(env["ESO_APP_PORT"]), env).start()
        try:
            result = run(app.url, f"http://127.0.0.1:{env['ESO_SES_PORT']}", seconds, workers)
        finally:
            app.stop()
    ok = not result["errors"] and not result["problems"]
    rows = result["rows"]
    for row in rows:
        row["ok"] = ok
    rows.append({"operation": (f"load: {result['workers']} workers, {result['seconds']:.0f} s, "
                               f"{result['orders']} orders ({result['duplicates']} sent twice), "
                               f"{result['members']} members"),
                 "target": "no errors, tables = requests", "ok": ok,
                 "detail": result["errors"][:5] + result["problems"][:5]})
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--workers", type=int, default=8)
    args = parser.parse_args()
    rows = measure(args.seconds, args.workers)
    print(f"{'operation':40} {'n':>6} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} {'req/s':>7}")
    for row in rows[:-1]:
        print(f"{row['operation']:40} {row['requests']:6} {row['median_ms']:8.1f} "
              f"{row['p95_ms']:8.1f} {row['p99_ms']:8.1f} {row['per_s']:7.1f}")
    summary = rows[-1]
    print(summary["operation"], "OK" if summary["ok"] else "FAILED", summary["detail"] or "")
    return 0 if summary["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
