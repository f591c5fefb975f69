"""The operator's HTML report in Debian Chromium: it draws its charts per day, week and month,
marks hidden counts, reads its axes in whole numbers, shows whole ad names, and asks for
nothing beyond the file itself."""
import uuid
from datetime import date, datetime, timedelta, timezone

import pytest

from chalicelib import ads, partners
from chalicelib.statistics import counters, visits
from tests.integration.helpers import cli

pytestmark = pytest.mark.usefixtures("stack")

FIRST = date(2024, 5, 1)
DAYS = 14
LONG_TITLE = "Spring sale on ergonomic office chairs, standing desks and monitor arms"


def at(day: date) -> datetime:
    return datetime.combine(day, datetime.min.time(), timezone.utc) + timedelta(hours=9)


@pytest.fixture(scope="module")
def report_file(stack, tmp_path_factory):
    """Two weeks of counters, some days below K, and `report --html` written from them."""
    tag = uuid.uuid4().hex[:6]
    shop = partners.create(f"Paper Co {tag}", "https://paper.example/").partner_id
    ads.declare_slot(f"html{tag}")
    toner = ads.create_ad(slot=f"html{tag}", title="Toner deals", target_url="https://x.example/")
    chairs = ads.create_ad(slot=f"html{tag}", title=LONG_TITLE, target_url="https://x.example/")
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
    return path, tag


def drawn(page, selector):
    return [box for box in (el.bounding_box() for el in page.locator(selector).all())
            if box and (box["width"] > 0 or box["height"] > 0)]


def y_ticks(figure) -> list:
    return [t.text_content() for t in figure.locator("text.y-tick").all()]


def test_the_html_report_renders_its_charts_and_marks_hidden_days(chromium, report_file, tmp_path):
    path, _ = report_file
    context = chromium.new_context(viewport={"width": 1400, "height": 900})
    page = context.new_page()
    requested = []
    page.on("request", lambda request: requested.append(request.url))
    page.goto(path.as_uri())
    page.screenshot(path=str(tmp_path / "report.png"), full_page=True)
    assert (tmp_path / "report.png").stat().st_size > 20_000

    assert len(drawn(page, "#per-day figure.line-chart > svg")) == 6
    assert len(drawn(page, "figure.bar-chart > svg")) >= 4
    assert len(drawn(page, "#per-day path.series-line")) >= 5        # lines with real length
    assert len(drawn(page, "#per-day circle.point, #per-day path.point-at-least")) >= 40
    assert len(drawn(page, "rect.bar")) >= 3
    hidden = page.locator("#per-day circle.point-hidden")
    assert hidden.count() > 0                           # days below K are marked ...
    band = page.locator("rect.suppressed-band").first.bounding_box()
    marker = hidden.first.bounding_box()
    assert band["y"] < marker["y"] + marker["height"] / 2 < band["y"] + band["height"]  # ... in the <K band
    assert "Registrations" in page.locator("#per-day figure.line-chart").nth(1).inner_text()
    assert page.locator("td.hidden").first.inner_text() == "<10"
    # Two whole weeks (1-5 May, cut at the month's start, and 6-12 May) get their own charts.
    assert len(drawn(page, "#per-week figure.line-chart > svg")) == 6
    assert len(drawn(page, "#per-week path.series-line")) >= 3
    titles = [t.text_content() for t in page.locator("#per-week circle.point title").all()]
    assert "Registrations, 2024-05-06 to 05-12: 196 (28.0 a day over 7 days)" in titles
    assert requested == [path.as_uri()]                 # self-contained: nothing else fetched
    context.close()


def test_every_axis_counts_in_distinct_whole_numbers(chromium, report_file):
    path, _ = report_file
    page = chromium.new_page(viewport={"width": 1400, "height": 900})
    page.goto(path.as_uri())
    figures = page.locator("figure.line-chart").all()
    assert len(figures) == 12
    for figure in figures:
        ticks = y_ticks(figure)
        numbers = [int(t.replace(",", "")) for t in ticks]  # whole numbers, or this raises
        assert numbers[0] == 0 and len(set(ticks)) == len(ticks) and numbers == sorted(numbers)
    page.close()


def test_ad_names_are_shown_whole_and_wrapped_inside_their_chart(chromium, report_file):
    path, tag = report_file
    page = chromium.new_page(viewport={"width": 1400, "height": 900})
    page.goto(path.as_uri())
    chart = page.locator("figure.bar-chart", has_text="Impressions per ad")
    svg = chart.locator("> svg").bounding_box()
    first_bar = min(box["x"] for box in drawn(chart, "rect.bar"))
    label = chart.locator("text.bar-label", has_text="Spring sale")
    lines = [t.text_content() for t in label.locator("tspan").all()]
    assert " ".join(lines) == f"{LONG_TITLE} (html{tag})"  # every word, none cut
    assert len(lines) > 1
    for text in chart.locator("text.bar-label").all():
        box = text.bounding_box()
        assert box["x"] >= svg["x"]                     # nothing runs off the left edge
        assert box["x"] + box["width"] <= first_bar     # nor into the bars
    page.close()


@pytest.fixture(scope="module")
def tiny_report(stack, tmp_path_factory):
    """A week of a handful of registrations, reported with K = 1 (nothing hidden)."""
    monday = date(2024, 9, 2)
    for i, (registered, deleted) in enumerate([(0, 0), (1, 0), (2, 1), (1, 0), (0, 0), (2, 0),
                                               (1, 0)]):
        now = at(monday + timedelta(days=i))
        if registered:
            counters.increment("registrations", amount=registered, now=now)
        if deleted:
            counters.increment("accounts_deleted", amount=deleted, now=now)
    path = tmp_path_factory.mktemp("tiny") / "report.html"
    result = cli("report", "--from", "2024-09-02", "--to", "2024-09-08", "--html", str(path),
                 env_extra={"ESO_K_THRESHOLD": "1"})
    assert result.returncode == 0, result.stderr
    return path


def test_with_a_small_k_zero_reads_0_and_the_members_axis_reads_0_1_2(chromium, tiny_report):
    page = chromium.new_page(viewport={"width": 1400, "height": 900})
    page.goto(tiny_report.as_uri())
    members = page.locator("#per-day figure.line-chart", has_text="Registrations")
    assert y_ticks(members) == ["0", "1", "2"]
    assert "<1" not in page.locator("main").inner_text()
    rows = page.locator("details", has_text="Per day").locator("tr").all()
    heads = [th.text_content() for th in rows[0].locator("th").all()]
    monday = [td.text_content() for td in rows[1].locator("td").all()]
    assert monday[heads.index("Registrations")] == "0"
    assert monday[heads.index("Accounts deleted")] == "0"
    page.close()
