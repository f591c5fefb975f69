"""The operator report: figures from the statistics, as text and as one HTML file; one day at
a glance for the console."""
from chalicelib.platform.lazy import lazy_exports

_EXPORTS = {"as_csv": "spreadsheet", "day_figures": "today", "drawing": "html",
            "operator_report": "report", "render": "html", "use_filters": "html"}
__all__ = sorted(_EXPORTS)
__getattr__ = lazy_exports(__name__, _EXPORTS)
