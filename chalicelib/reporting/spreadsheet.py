"""The operator report as CSV for a spreadsheet: one figure per row, every cell exactly as the
report shows it (the K rule already applied: ``<10``, ``>=N``), and no cell a spreadsheet
would run as a formula (an ad's title or a partner's name starting with ``=``, say)."""
from __future__ import annotations

import csv
import io

from chalicelib.platform.spreadsheets import safe_cell
from chalicelib.reporting.report import period

COLUMNS = ("section", "period", "id", "name", "figure", "value")


def _bucket_rows(section: str, rows: list, keys: list, item: tuple = ("", "")) -> list:
    out = []
    for row in rows:
        for key in keys:
            if key == "revenue":
                out += [(section, period(row), *item, f"revenue {currency}", value)
                        for currency, value in sorted(row.get("revenue", {}).items())]
            else:
                out.append((section, period(row), *item, key, row[key]))
    return out


def report_rows(report: dict) -> list:
    """(section, period, id, name, figure, value) for every figure of the report: the whole
    range, then per day, week and month; per ad; per partner."""
    keys = list(report["figures"])
    span = f"{report['from']} to {report['to']}"
    rows = [("range", span, "", "", key, report["totals"][key]) for key in keys]
    for section in ("days", "weeks", "months"):
        rows += _bucket_rows(section[:-1], report[section], keys)
    for ad in report["ads"]:
        item = (ad["ad_id"], ad["title"])
        rows += [("ad", span, *item, "impressions", ad["impressions"]),
                 ("ad", span, *item, "clicks", ad["clicks"])]
        for section in ("days", "weeks", "months"):
            rows += _bucket_rows(f"ad {section[:-1]}", ad[section], ["impressions", "clicks"],
                                 item)
    for partner in report["partners"]:
        item = (partner["partner_id"], partner["name"])
        rows += [("partner", span, *item, figure, partner[figure])
                 for figure in ("clicks", "transactions", "reversals")]
        rows += [("partner", span, *item, f"revenue {currency}", value)
                 for currency, value in sorted(partner["revenue"].items())]
        for section in ("days", "weeks", "months"):
            rows += _bucket_rows(f"partner {section[:-1]}", partner[section],
                                 ["clicks", "transactions", "reversals", "revenue"], item)
    return rows


def as_csv(report: dict) -> str:
    """The report's rows as CSV (RFC 4180 line ends), formulas neutralised."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    for row in report_rows(report):
        writer.writerow([safe_cell(cell) for cell in row])
    return out.getvalue()
