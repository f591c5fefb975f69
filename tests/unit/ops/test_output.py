"""The CLI's readable tables: columns padded to their widest cell, free text cut."""
from chalicelib.ops.output import shorten, table, width


def test_columns_are_padded_to_the_widest_cell_and_numbers_align_right():
    text = table(["id", "count", "name"],
                 [["a", 5, "Short"], ["longer-id", 1200, "A name"], ["b", None, ""]],
                 right=("count",))
    assert text.splitlines() == [
        "id         count  name",
        "─────────  ─────  ──────",
        "a              5  Short",
        "longer-id   1200  A name",
        "b              -  -",
    ]


def test_wide_characters_take_two_columns_and_long_text_is_cut():
    assert width("広告") == 4 and width("e\u0301") == 1
    lines = table(["t", "n"], [["広告", 1], ["ab", 2]], right=("n",)).splitlines()
    assert lines[2] == "広告  1" and lines[3] == "ab    2"
    assert shorten("x" * 100, 10) == "x" * 9 + "…" and width(shorten("広" * 20, 9)) <= 9
    cut = table(["title"], [["word " * 30]], limits={"title": 20}).splitlines()[2]
    assert cut.endswith("…") and width(cut) <= 20


def test_a_value_on_several_lines_stays_on_its_row_and_an_empty_table_says_so():
    assert table(["a", "b"], [["x\ny", "z"]]).splitlines()[2] == "x y  z"
    assert table(["a"], [], empty="no ads") == "no ads"
