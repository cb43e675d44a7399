"""The seed t-test pipeline on a worked example small enough to compute by hand.

Three runs, two classes, ten images per class. Per-class accuracy (control = clean val,
experimental = rotation):

    class A: control 0.8, 0.9, 1.0   experimental 0.5, 0.6, 0.4
    class B: control 0.6, 0.7, 0.8   experimental 0.7, 0.7, 0.7

Class A, seed test (Student, pooled): means 0.9 vs 0.5, both sample variances 0.01,
    se = sqrt(0.01 * (1/3 + 1/3)) = 0.081650, t = 0.4 / 0.081650 = 2*sqrt(6) = 4.898979, df 4.
    For df 4 the two-sided p is 1 - (3u - u^3)/2 with u = t / sqrt(t^2 + 4) = sqrt(6/7):
    p = 0.0080499.
Class A, paired: differences c - e = 0.3, 0.3, 0.6; mean 0.4, sd sqrt(0.03), se 0.1,
    t = 4.0, df 2; two-sided p = 1 - t / sqrt(t^2 + 2) = 1 - 4/sqrt(18) = 0.0571910.
Class B: equal means -> t = 0, p = 1 for both tests.
Holm over {0.0571910, 1}: 0.114382, 1.
So at alpha 0.05 the seed test calls 1 class affected, the corrected paired test 0.
"""

import json
import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from study_fixture import write_predictions

from shiftlab.cli import main
from shiftlab.stats.seed_analysis import affected_counts, class_tests, model_tests

RUNS = ["m1", "m2", "m3"]
CONTROL = {"n01514859": [0.8, 0.9, 1.0], "n02099601": [0.6, 0.7, 0.8]}
EXPERIMENTAL = {"n01514859": [0.5, 0.6, 0.4], "n02099601": [0.7, 0.7, 0.7]}
T_IND_A, P_IND_A = 2 * math.sqrt(6), 0.0080499
T_REL_A, P_REL_A = 4.0, 1 - 4 / math.sqrt(18)


def _tables():
    return pd.DataFrame(CONTROL, index=RUNS), pd.DataFrame(EXPERIMENTAL, index=RUNS)


def test_hand_numbers_agree_with_scipy():
    ind = stats.ttest_ind(CONTROL["n01514859"], EXPERIMENTAL["n01514859"])
    rel = stats.ttest_rel(CONTROL["n01514859"], EXPERIMENTAL["n01514859"])
    assert ind.statistic == pytest.approx(T_IND_A) and ind.pvalue == pytest.approx(
        P_IND_A, abs=1e-7
    )
    assert rel.statistic == pytest.approx(T_REL_A) and rel.pvalue == pytest.approx(P_REL_A)


def test_class_tests_worked_example():
    table = class_tests(*_tables(), alpha=0.05, correction="holm").set_index("unit")
    a, b = table.loc["n01514859"], table.loc["n02099601"]
    assert a.t_ind == pytest.approx(T_IND_A) and a.p_ind == pytest.approx(P_IND_A, abs=1e-7)
    assert a.t_rel == pytest.approx(T_REL_A) and a.p_rel == pytest.approx(P_REL_A)
    assert a.p_rel_adj == pytest.approx(2 * P_REL_A)
    assert b.t_ind == pytest.approx(0) and b.p_ind == pytest.approx(1)
    assert a["diff"] == pytest.approx(-0.4)
    assert affected_counts(table.reset_index()) == {
        "classes_tested": 2, "classes_affected_seed": 1, "classes_affected_corrected": 0,
    }  # fmt: skip


def test_model_tests_equal_scipy():
    control, experimental = _tables()
    table = model_tests(control, experimental, alpha=0.05, correction="bh").set_index("unit")
    for run in RUNS:
        c, e = control.loc[run].to_numpy(), experimental.loc[run].to_numpy()
        assert table.loc[run, "p_ind"] == pytest.approx(stats.ttest_ind(c, e).pvalue)
        assert table.loc[run, "w_p"] == pytest.approx(stats.wilcoxon(c, e).pvalue)


def _frame(accuracies: dict[str, float], variant: str, per_class: int = 10) -> pd.DataFrame:
    rows = []
    for wnid, acc in accuracies.items():
        target = list(CONTROL).index(wnid)
        other = 1 - target
        for i in range(per_class):
            correct = i < round(acc * per_class)
            topk = [target, other] if correct else [other, target]
            rows.append({"sample": f"{wnid}/{i:02d}.JPEG", "target": target, "wnid": wnid, "variant": variant,
                         "frame": -1, "topk": topk, "topk_prob": [0.9, 0.1], "msp": 0.9})  # fmt: skip
    return pd.DataFrame(rows)


def test_aggregate_pipeline_reproduces_worked_example(tmp_path):
    preds = []
    for i, run in enumerate(RUNS):
        for bench, table, variant in (("val", CONTROL, ""), ("t", EXPERIMENTAL, "rotation")):
            path = tmp_path / "predictions" / run / f"{bench}.parquet"
            write_predictions(
                path, _frame({w: v[i] for w, v in table.items()}, variant), run, bench
            )
            preds.append(str(path))
    stats_json = json.dumps({"alpha": 0.05, "correction": "holm", "bootstrap": 50})
    rc = main(["aggregate", "--study", "s", "--predictions", *preds, "--stats-json", stats_json,
               "--out-dir", str(tmp_path), "--config-sha256", "c0ffee"])  # fmt: skip
    assert rc == 0
    seed = pd.read_csv(tmp_path / "stats" / "seed_ttests.csv")
    a = seed[(seed.level == "class") & (seed.unit == "n01514859")].iloc[0]
    assert a.condition == "rotation"
    assert a.t_ind == pytest.approx(T_IND_A) and a.p_ind == pytest.approx(P_IND_A, abs=1e-7)
    assert a.p_rel == pytest.approx(P_REL_A) and a.p_rel_adj == pytest.approx(2 * P_REL_A)
    summary = pd.read_csv(tmp_path / "summary.csv").set_index("metric")
    assert summary.loc["classes_affected_seed", "value"] == 1
    assert summary.loc["classes_affected_corrected", "value"] == 0
    row = summary.loc["classes_affected_seed"]
    assert row.run == "*" and len(row.predictions_sha256.split(";")) == 6
    assert row.config_sha256 == "c0ffee"
    assert np.isclose(summary.loc["classes_tested", "value"], 2)


@pytest.mark.parametrize("runs", [1, 2, 9, 22])
def test_class_tests_match_one_test_per_class_bit_for_bit(runs):
    """The vectorised class tests give exactly the numbers of one 1-D test per class, with
    constant classes, equal classes and classes some runs lack (NaN) among them."""
    from shiftlab.stats.seed_analysis import _t_tests

    rng = np.random.default_rng(runs)
    index, columns = [f"r{i}" for i in range(runs)], [f"n{j:08d}" for j in range(200)]
    control = pd.DataFrame(rng.integers(0, 51, (runs, 200)) / 50, index, columns)
    experimental = pd.DataFrame(rng.integers(0, 51, (runs, 200)) / 50, index, columns)
    control.iloc[:, 3] = experimental.iloc[:, 3] = 0.5
    experimental.iloc[:, 4] = control.iloc[:, 4]
    control.iloc[0, 7] = experimental.iloc[-1, 9] = np.nan
    table = class_tests(control, experimental, alpha=0.05, correction="holm")
    for i, wnid in enumerate(columns):
        expected = _t_tests(control[wnid].to_numpy(float), experimental[wnid].to_numpy(float))
        got = table.iloc[i]
        assert got["unit"] == wnid and got["n_runs"] == runs
        for key, value in expected.items():
            assert got[key] == value or (np.isnan(got[key]) and np.isnan(value)), (wnid, key)


def test_variant_masks_match_string_masks():
    from shiftlab.variants import VariantMasks, in_corruption

    variants = np.array(["fog/1", "fog/2", "frost/1", "", "fog/1", "fog", "frost/10"], object)
    masks = VariantMasks(pd.Series(variants))
    for v in [*set(variants), "absent/1"]:
        assert np.array_equal(masks.variant(v), variants == v)
    for c in ("fog", "frost", "", "absent"):
        assert np.array_equal(masks.corruption(c), in_corruption(variants, c))
