"""The HTML report's chart geometry: whole-number axes without repeated ticks, labels wrapped
rather than cut, weeks drawn across their days."""
import pytest

from chalicelib.reporting import html


@pytest.mark.parametrize("maximum", [0, 0.4, 1, 2, 3, 5, 7, 9, 10, 11, 19, 26, 99, 101, 523,
                                     999, 1001, 12_345, 987_654])
def test_axis_ticks_are_distinct_whole_numbers_from_zero_past_the_largest_value(maximum):
    ticks = html.integer_axis(maximum)
    assert ticks[0] == 0 and ticks[-1] >= maximum
    assert all(isinstance(t, int) for t in ticks)
    assert len(set(ticks)) == len(ticks) and ticks == sorted(ticks)
    assert 2 <= len(ticks) <= 6


def test_a_chart_of_counts_up_to_two_reads_0_1_2():
    chart = html.line_chart("Members", "", ["2026-03-01", "2026-03-02", "2026-03-03"],
                            [("Registrations", [0, 1, 2]), ("Accounts deleted", [0, 0, 1])],
                            k=1)
    assert [g["label"] for g in chart["grid"]] == ["0", "1", "2"]
    assert chart["band"] is None  # K = 1 hides nothing
    with_k_3 = html.line_chart("Members", "", ["2026-03-01"], [("Registrations", ["<3"])], k=3)
    assert [g["label"] for g in with_k_3["grid"]] == ["0", "1", "2", "3"]
    assert with_k_3["band"]["y"] == with_k_3["grid"][-1]["y"]  # the band reaches up to K


def test_a_chart_of_hidden_days_with_k_10_reads_in_steps_of_two():
    chart = html.line_chart("Members", "", ["2026-03-01", "2026-03-02"],
                            [("Registrations", ["<10", 0])], k=10)
    assert [g["label"] for g in chart["grid"]] == ["0", "2", "4", "6", "8", "10"]


TITLE = "Spring sale on ergonomic office chairs, standing desks and monitor arms (homepage)"


def test_a_long_label_is_wrapped_into_lines_that_fit_and_keep_every_word():
    lines = html.wrap(TITLE, 200)
    assert len(lines) > 1
    assert " ".join(lines) == TITLE
    assert all(html.text_width(line) <= 200 for line in lines)


def test_a_word_wider_than_the_column_is_broken_inside_it():
    word = "Supercalifragilisticexpialidocious-Office-Supplies-International"
    lines = html.wrap(f"Buy {word} now", 120)
    assert lines[0] == "Buy" and len(lines) >= 3
    assert "".join(lines).replace(" ", "") == f"Buy{word}now"  # nothing lost
    assert all(html.text_width(line) <= 120 for line in lines)


def test_bars_carry_their_full_labels_and_rows_grow_to_hold_them():
    chart = html.bar_chart("Impressions per ad", "", [(TITLE, 1234), ("Toner (home)", ">=40"),
                                                      ("Chairs (home)", "<10")], k=10)
    long, short, hidden = chart["rows"]
    assert " ".join(long["lines"]) == TITLE and short["lines"] == ["Toner (home)"]
    assert short["y"] - long["y"] > hidden["y"] - short["y"]  # the wrapped row is taller
    assert (short["partial"], hidden["text"]) == (True, "all days <10")
    assert chart["height"] >= hidden["y"] + html.BAR_HEIGHT


def test_weeks_are_steps_across_their_days_at_the_average_per_day():
    days = [f"2026-03-{d:02d}" for d in range(1, 16)]
    weeks = [{"from": "2026-03-01", "to": "2026-03-01", "registrations": ">=0"},
             {"from": "2026-03-02", "to": "2026-03-08", "registrations": 21},
             {"from": "2026-03-09", "to": "2026-03-15", "registrations": 35}]
    chart = html.step_chart("Members", "", days, weeks,
                            [("Registrations", [w["registrations"] for w in weeks])])
    [line] = chart["lines"]
    assert [p["kind"] for p in line["points"]] == ["hidden", "exact", "exact"]
    assert "3.0 a day over 7 days" in line["points"][1]["title"]
    [path] = line["paths"]  # two neighbouring weeks: one step line
    assert path.count("H") == 2 and "V" in path
    assert [g["label"] for g in chart["grid"]] == ["0", "1", "2", "3", "4", "5"]
