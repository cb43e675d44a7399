"""Repeatability over repeated captures against values computed by hand."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from shiftlab.metrics.core import Options
from shiftlab.metrics.repeatability import group_table, repeatability_rows, run_agreement

# group a (class x): answers 1,1,2 -> 1 of 3 pairs agree; probs .9 .7 .4 -> spread .5
# group b (class x): answers 3,3 -> 1 of 1; spread .8-.6 = .2
# group c (class y): answers 0,1,0,1 -> pairs (0,0),(1,1) agree: 2 of 6; spread .3
# group d (class y): one capture -> no repeat, left out
GROUPS = ["a", "a", "a", "b", "b", "c", "c", "c", "c", "d", ""]
CLASSES = ["x", "x", "x", "x", "x", "y", "y", "y", "y", "y", "y"]
TOP1 = [1, 1, 2, 3, 3, 0, 1, 0, 1, 4, 4]
PROB = [0.9, 0.7, 0.4, 0.8, 0.6, 0.5, 0.6, 0.7, 0.8, 0.9, 0.9]


def test_group_table_by_hand():
    table = group_table(GROUPS, CLASSES, TOP1, PROB)
    assert table["group"].tolist() == ["a", "b", "c"]
    assert table["agreement"].tolist() == pytest.approx([1 / 3, 1.0, 2 / 6])
    assert table["prob_spread"].tolist() == pytest.approx([0.5, 0.2, 0.3])
    assert table["disagrees"].tolist() == [True, False, True]
    assert table["answers"].tolist() == ["1x2, 2x1", "3x2", "0x2, 1x2"]


def test_rows_overall_and_per_class():
    rows = repeatability_rows(group_table(GROUPS, CLASSES, TOP1, PROB), Options({}, reps=200))
    got = {r["metric"]: r for r in rows}
    assert got["repeat_agreement"]["value"] == pytest.approx(100 * (1 / 3 + 1 + 1 / 3) / 3)
    assert got["repeat_prob_spread"]["value"] == pytest.approx(100 * (0.5 + 0.2 + 0.3) / 3)
    assert got["repeat_groups_disagree"]["value"] == pytest.approx(100 * 2 / 3)
    assert got["repeat_agreement/x"]["value"] == pytest.approx(100 * (1 / 3 + 1) / 2)
    assert got["repeat_agreement/y"]["value"] == pytest.approx(100 / 3)
    assert got["repeat_groups_disagree/y"]["n"] == 1
    from scipy.stats import beta  # Clopper-Pearson of 2 of 3, the interval the row carries

    low = beta.ppf(0.025, 2, 2)
    assert got["repeat_groups_disagree"]["ci_low"] == pytest.approx(100 * low)
    for row in rows:
        assert row["ci_low"] <= row["value"] <= row["ci_high"]


def test_agreement_between_two_runs():
    a = pd.DataFrame(
        {"sample": list("pqrst"), "group": ["g", "g", "h", "h", ""], "top1": [1, 2, 3, 3, 0]}
    )
    b = pd.DataFrame({"sample": list("tsrqp"), "top1": [0, 3, 3, 9, 1]})
    got = run_agreement(a, b)
    # images p, r, s, t agree (q differs): 4 of 5; group g has q -> not identical, h is: 1 of 2
    assert got == {"images": 5, "image_agreement": 0.8, "groups": 2, "groups_identical": 0.5}
    assert np.isnan(run_agreement(a[:0], b)["image_agreement"])
