"""One day at a glance, for the console's Today page: each daily figure of the report for one
UTC day, with the K rule (a count below K reads ``<K``). Only Queries and Gets of the counters
and the visit sketch; no table is scanned."""
from __future__ import annotations

from datetime import date

from chalicelib.platform.settings import get_settings
from chalicelib.reporting.buckets import day_cell
from chalicelib.reporting.report import DAILY_FIGURES, shown
from chalicelib.statistics import counters, visits


def day_figures(day: date) -> list:
    """[{"key", "label", "value"}] for ``day``, in the report's order; ``value`` as shown."""
    k = get_settings().k_threshold
    rows = []
    for key, label, metric, dimension in DAILY_FIGURES:
        if metric:
            count = sum(counters.daily(metric, day, day, dimension=dimension).values())
        else:
            count = sum(visits.daily(day, day).values())
        rows.append({"key": key, "label": label, "value": shown(day_cell(count, k))})
    return rows
