"""The report in the console, through the in-process app and DynamoDB Local: the range form
refuses bad dates and reversed or long ranges with a clear 400, the page and the CSV hold the
same K-ruled cells as `cli report`, CSV cells cannot run as formulas, and each download is in
the audit log."""
from __future__ import annotations

import csv
import io
import json
import re
import uuid
from datetime import date, datetime, timedelta, timezone

import pytest

from chalicelib import ads
from chalicelib.operators import audit
from chalicelib.platform import clock
from chalicelib.statistics import counters
from tests.integration.helpers import cli
from tests.integration.operator_helpers import set_up_with_totp

pytestmark = pytest.mark.usefixtures("stack")

FIRST, SECOND = date(2021, 3, 1), date(2021, 3, 2)  # days no other test counts anything on


def at(day: date) -> datetime:
    return datetime.combine(day, datetime.min.time(), timezone.utc) + timedelta(hours=12)


@pytest.fixture(scope="module")
def counted_ad(stack):
    """An ad titled like a spreadsheet formula, seen 3 times one day (below K) and 25 the next."""
    slot = ads.declare_slot(f"report{uuid.uuid4().hex[:6]}").slot
    ad = ads.create_ad(slot=slot, title='=CMD("calc")&"Toner"',
                       target_url="https://shop.example/")
    counters.increment("ad_impressions", dimension=ad.ad_id, amount=3, now=at(FIRST))
    counters.increment("ad_impressions", dimension=ad.ad_id, amount=25, now=at(SECOND))
    return ad


def test_the_range_is_checked_and_a_bad_one_changes_nothing(client):
    browser = set_up_with_totp(client)["browser"]
    day = clock.today()
    before = len(audit.entries_of_day(day))
    for query, field, words in (("from=2021-02-30&to=2021-03-01", "from", "YYYY-MM-DD"),
                                ("from=yesterday&to=2021-03-01", "from", "YYYY-MM-DD"),
                                ("from=2021-03-05&to=2021-03-01", "from", "must not be after"),
                                ("from=2021-01-01&to=2021-06-30", "to", "at most 92 days"),
                                ("from=2021-03-01&to=", "to", "YYYY-MM-DD"),
                                ("from=9999-12-31&to=9999-12-31", "from", "2999-12-31")):
        for path in ("/admin/reports", "/admin/reports/csv", "/admin/reports/html"):
            answer = browser.get(f"{path}?{query}")
            assert answer.status_code == 400, (path, query)
            body = answer.body.decode()
            assert words in body and answer.headers["Content-Type"].startswith("text/html")
            assert re.search(rf'id="{field}"[^>]*aria-invalid="true"', body), (path, query)
    ok = browser.get("/admin/reports")  # no range: the last 7 days
    assert ok.status_code == 200 and 'id="report"' in ok.body.decode()
    assert len(audit.entries_of_day(day)) == before  # nothing downloaded, nothing recorded


def test_the_page_and_the_csv_show_the_clis_cells_with_the_k_rule(client, counted_ad):
    operator = set_up_with_totp(client)
    browser = operator["browser"]
    span = f"from={FIRST}&to={SECOND}"
    page = browser.get(f"/admin/reports?{span}")
    body = page.body.decode()
    assert page.status_code == 200 and "counts below 10 are hidden" in body
    row = re.search(rf"<tr><td>{counted_ad.ad_id}</td><td>[^<]+</td><td>([^<]+)</td><td>([^<]+)</td>", body)
    assert row.group(1) == "=CMD(&#34;calc&#34;)&amp;&#34;Toner&#34;"
    assert row.group(2) == "≥25"  # the hidden day is not added in: at least what is shown
    assert "<script" not in body.split("<main", 1)[1]

    download = browser.get(f"/admin/reports/csv?{span}")
    assert download.status_code == 200
    assert download.headers["Content-Type"].startswith("text/csv")
    assert download.headers["Content-Disposition"] == \
        f'attachment; filename="eso-report-{FIRST}-{SECOND}.csv"'
    rows = list(csv.DictReader(io.StringIO(download.body.decode())))
    mine = {(r["section"], r["period"], r["figure"]): r for r in rows if r["id"] == counted_ad.ad_id}
    assert mine[("ad day", FIRST.isoformat(), "impressions")]["value"] == "<10"
    assert mine[("ad day", SECOND.isoformat(), "impressions")]["value"] == "25"
    assert all(r["name"] == "'" + counted_ad.title for r in mine.values())  # not a formula
    for r in rows:
        assert not r["name"].startswith(("=", "+", "@")) and not r["value"].startswith(("=", "+", "@"))

    printed = json.loads(cli("--json", "report", "--from", FIRST.isoformat(),
                             "--to", SECOND.isoformat()).stdout)
    [cli_ad] = [a for a in printed["ads"] if a["ad_id"] == counted_ad.ad_id]
    in_csv = [mine[("ad day", d.isoformat(), "impressions")]["value"] for d in (FIRST, SECOND)]
    assert [str(d["impressions"]) for d in cli_ad["days"]] == in_csv == ["<10", "25"]
    assert str(cli_ad["impressions"]) == mine[("ad", f"{FIRST} to {SECOND}", "impressions")]["value"] \
        == ">=25"
    for figure, total in printed["totals"].items():
        assert [r["value"] for r in rows if r["section"] == "range" and r["figure"] == figure] \
            == [str(total)]

    html = browser.get(f"/admin/reports/html?{span}")
    assert html.status_code == 200 and html.headers["Content-Disposition"].endswith('.html"')
    assert "<svg" in html.body.decode() and counted_ad.ad_id in html.body.decode()

    entries = [e for e in audit.entries_of_day(clock.today())
               if e["actor"] == operator["operator_id"] and e["action"] == "report_exported"]
    assert sorted((e["detail"]["method"], e["detail"]["from"], e["detail"]["to"]) for e in entries) \
        == [("csv", str(FIRST), str(SECOND)), ("html", str(FIRST), str(SECOND))]
    [csv_entry] = [e for e in entries if e["detail"]["method"] == "csv"]
    assert csv_entry["detail"]["rows"] == str(len(rows))
