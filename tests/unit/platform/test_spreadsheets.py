"""CSV cells a spreadsheet opens as text, never as formulas."""
import pytest

from chalicelib.platform.spreadsheets import safe_cell


@pytest.mark.parametrize("value", ["=1+1", '=HYPERLINK("https://evil.example")', "+cmd", "-cmd|x",
                                   "@SUM(A1)", "\tTab", "\rReturn", "-", "--1"])
def test_a_cell_that_starts_a_formula_is_prefixed(value):
    assert safe_cell(value) == "'" + value


@pytest.mark.parametrize("value, shown", [("Toner", "Toner"), (None, ""), (12, "12"),
                                          ("-12.50", "-12.50"), ("-3", "-3"), ("<10", "<10"),
                                          (">=25", ">=25"), ("a=b", "a=b")])
def test_other_cells_and_plain_numbers_stay_as_they_are(value, shown):
    assert safe_cell(value) == shown
