"""Small-count suppression and counter labels, without a database."""
import pytest

from chalicelib.statistics import counters, suppression


@pytest.mark.parametrize("count, shown", [(0, "<10"), (1, "<10"), (9, "<10"), (10, 10), (11, 11)])
def test_counts_below_k_are_shown_as_less_than_k(count, shown):
    assert suppression.suppress(count, 10) == shown


def test_suppression_follows_the_stage_threshold(monkeypatch):
    monkeypatch.setenv("ESO_K_THRESHOLD", "5")
    assert suppression.suppress(4) == "<5" and suppression.suppress(5) == 5
    monkeypatch.delenv("ESO_K_THRESHOLD")
    assert suppression.suppress(9) == "<10"


@pytest.mark.parametrize("label", ["a#b", "x" * 33, "a b", "someone@example.org"])
def test_bad_labels_are_refused(label):
    with pytest.raises(ValueError):
        counters._shard_item("m", "d", 1, None, label)
