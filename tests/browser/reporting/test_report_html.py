"""The operator's HTML report in Debian Chromium: it draws its charts, marks hidden counts,
and asks for nothing beyond the file itself."""
import uuid
from datetime import date, datetime, timedelta, timezone

import pytest

from chalicelib import ads, partners
from chalicelib.statistics import counters, visits
from tests.integration.helpers import cli

pytestmark = pytest.mark.usefixtures("stack")

FIRST = date(2024, 5, 1)
DAYS = 14


def at(day: date) -> datetime:
    return datetime.combine(day, datetime.min.time(), timezone.utc) + timedelta(hours=9)


@pytest.fixture(scope="module")
def report_file(stack, tmp_path_factory):
    """Two weeks of counters, some days below K, and `report --html` written from them."""
    tag = uuid.uuid4().hex[:6]
    shop = partners.create(f"Paper Co {tag}", "https://paper.example/").partner_id
    ads.declare_slot(f"html{tag}")
    toner = ads.create_ad(slot=f"html{tag}", title="Toner deals", target_url="https://x.example/")
    chairs = ads.create_ad(slot=f"html{tag}", title="Office chairs", target_url="https://x.example/")
    for i in range(DAYS):
        now = at(FIRST + timedelta(days=i))
        counters.increment("registrations", amount=4 + 3 * i, now=now)   # below K the first days
        counters.increment("verifications", amount=2 + 2 * i, now=now)
        counters.increment("ad_impressions", dimension=toner.ad_id, amount=300 + 25 * i, now=now)
        counters.increment("ad_impressions", dimension=chairs.ad_id, amount=120 + (i % 4) * 30, now=now)
        counters.increment("ad_clicks", dimension=toner.ad_id, amount=6 + i, now=now)
        counters.increment("referral_clicks", dimension=shop, amount=5 + 2 * i, now=now)
        for v in range(15 + 3 * i):
            visits.record(f"html-visitor-{i}-{v}", now=now)
    path = tmp_path_factory.mktemp("report") / "report.html"
    last = FIRST + timedelta(days=DAYS - 1)
    result = cli("report", "--from", FIRST.isoformat(), "--to", last.isoformat(), "--html", str(path))
    assert result.returncode == 0, result.stderr
    return path


def test_the_html_report_renders_its_charts_and_marks_hidden_days(chromium, report_file, tmp_path):
    context = chromium.new_context(viewport={"width": 1400, "height": 900})
    page = context.new_page()
    requested = []
    page.on("request", lambda request: requested.append(request.url))
    page.goto(report_file.as_uri())
    page.screenshot(path=str(tmp_path / "report.png"), full_page=True)
    assert (tmp_path / "report.png").stat().st_size > 20_000

    def drawn(selector):
        return [box for box in (el.bounding_box() for el in page.locator(selector).all())
                if box and (box["width"] > 0 or box["height"] > 0)]

    assert len(drawn("figure.line-chart svg")) == 6
    assert len(drawn("figure.bar-chart svg")) >= 4
    assert len(drawn("path.series-line")) >= 5        # lines with real length
    assert len(drawn("circle.point, path.point-at-least")) >= 40  # a marker per shown day
    assert len(drawn("rect.bar")) >= 3
    hidden = page.locator("circle.point-hidden")
    assert hidden.count() > 0                           # days below K are marked ...
    band = page.locator("rect.suppressed-band").first.bounding_box()
    marker = hidden.first.bounding_box()
    assert band["y"] < marker["y"] + marker["height"] / 2 < band["y"] + band["height"]  # ... in the <K band
    assert "Registrations" in page.locator("figure.line-chart").nth(1).inner_text()
    assert page.locator("td.hidden").first.inner_text() == "<10"
    assert requested == [report_file.as_uri()]          # self-contained: nothing else fetched
    context.close()
