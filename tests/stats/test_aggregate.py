import json

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest
from scipy import stats
from scipy.special import logit
from study_fixture import VARIANTS, make_study

from shiftlab.cli import main
from shiftlab.errors import UserError
from shiftlab.metrics.corruption import TEST_CORRUPTIONS
from shiftlab.stats.inputs import PROVENANCE_COLUMNS, SUMMARY_COLUMNS
from shiftlab.stats.summary import StatsConfig

STATS_FILES = [
    "seed_ttests",
    "mcnemar",
    "wilcoxon",
    "pairwise",
    "effective_robustness",
    "bootstrap_ci",
]


def _aggregate(root, study, *extra) -> int:
    return main(["aggregate", "--study", "demo", "--metrics", *study["metrics"], "--predictions",
                 *study["predictions"], "--stats-json", study["stats_json"], "--out-dir", str(root),
                 "--config-sha256", "cafe", *extra])  # fmt: skip


@pytest.fixture(scope="module")
def aggregated(tmp_path_factory):
    root = tmp_path_factory.mktemp("results") / "demo"
    study = make_study(root)
    tracking = root / "tracking.json"
    tracking.write_text(
        json.dumps({"train": {"r1": "train-r1"}, "metrics": {"r1": {"v2": "metrics-r1-v2"}}})
    )
    assert _aggregate(root, study, "--mlflow-ids", str(tracking)) == 0
    return root


def _read(path) -> pd.DataFrame:
    return pd.read_csv(path, dtype={"variant": str, "run": str}).fillna({"variant": ""})


def _correct(root, run, bench):
    frame = pq.read_table(root / "predictions" / run / f"{bench}.parquet").to_pandas()
    return frame, (frame["topk"].str[0] == frame["target"]).to_numpy()


def test_outputs_and_provenance(aggregated):
    summary = pd.read_csv(aggregated / "summary.csv", dtype=str, keep_default_na=False)
    assert list(summary.columns) == SUMMARY_COLUMNS
    for column in (
        "checkpoint_sha256",
        "dataset_fingerprint",
        "predictions_sha256",
        "code_version",
    ):
        assert (summary[column] != "").all(), column
    assert (summary["config_sha256"] == "cafe").all()
    r1 = summary[summary.run == "r1"]
    assert set(r1.loc[(r1.benchmark == "v2") & (r1.metric == "top1"), "mlflow_run_id"]) == {
        "metrics-r1-v2"
    }
    assert set(r1.loc[r1.benchmark == "t", "mlflow_run_id"]) == {"train-r1"}
    for name in STATS_FILES:
        assert not pd.read_csv(aggregated / "stats" / f"{name}.csv").empty, name
    assert (aggregated / "summary.csv.prov.json").is_file()
    assert not list(aggregated.rglob("*.tmp"))
    # every metric from the metrics CSVs is in the summary, per-class detail in per_class.parquet
    metrics = pd.concat(pd.read_csv(p) for p in (aggregated / "metrics").rglob("*.csv"))
    per_class = pd.read_parquet(aggregated / "per_class.parquet")
    assert list(per_class.columns) == SUMMARY_COLUMNS
    assert per_class["metric"].str.startswith("class_acc/").all()
    assert not summary["metric"].str.startswith("class_acc/").any()
    both = pd.concat([summary, per_class.astype(str)])
    assert len(both.merge(metrics[["run", "benchmark", "metric"]].drop_duplicates())) >= len(
        metrics
    )
    # a multi-file number lists each file
    slope = summary[summary.metric == "eff_robustness_slope"].iloc[0]
    assert len(slope.predictions_sha256.split(";")) == 8
    assert set(PROVENANCE_COLUMNS) <= set(summary.columns)


def test_accuracy_ci_filled_from_bootstrap(aggregated):
    summary = _read(aggregated / "summary.csv")
    top1 = summary[(summary.metric == "top1") & (summary.run == "r2") & (summary.benchmark == "v2")]
    assert len(top1) == 1
    row = top1.iloc[0]
    _, correct = _correct(aggregated, "r2", "v2")
    assert row.value == pytest.approx(100 * correct.mean())
    assert row.ci_low < row.value < row.ci_high


def test_mcnemar_and_wilcoxon_equal_scipy(aggregated):
    mc = _read(aggregated / "stats" / "mcnemar.csv")
    row = mc[(mc.benchmark == "t") & (mc.variant == "") & (mc.run_b == "r3")].iloc[0]
    _, a = _correct(aggregated, "r0", "t")
    frame, b = _correct(aggregated, "r3", "t")
    only_a, only_b = int(np.sum(a & ~b)), int(np.sum(~a & b))
    assert (row.only_a, row.only_b) == (only_a, only_b)
    assert row.pvalue == pytest.approx(stats.binomtest(only_a, only_a + only_b).pvalue)
    wil = _read(aggregated / "stats" / "wilcoxon.csv")
    w = wil[
        (wil.comparison == "runs")
        & (wil.benchmark == "t")
        & (wil.variant == "")
        & (wil.run_b == "r3")
    ].iloc[0]
    per_class = pd.DataFrame({"a": a, "b": b, "wnid": frame["wnid"]}).groupby("wnid").mean()
    ref = stats.wilcoxon(per_class["b"], per_class["a"])
    assert w.statistic == pytest.approx(ref.statistic) and w.pvalue == pytest.approx(ref.pvalue)
    pair = _read(aggregated / "stats" / "pairwise.csv")
    p = pair[(pair.benchmark == "t") & (pair.variant == "") & (pair.run_b == "r3")].iloc[0]
    assert p["diff"] == pytest.approx(b.mean() - a.mean()) and p.ci_low <= p["diff"] <= p.ci_high


def test_effective_robustness_equals_linregress(aggregated):
    er = pd.read_csv(aggregated / "stats" / "effective_robustness.csv")
    v2 = er[er.benchmark == "v2"].sort_values("run")
    xs = [_correct(aggregated, r, "val")[1].mean() for r in v2.run]
    ys = [_correct(aggregated, r, "v2")[1].mean() for r in v2.run]
    np.testing.assert_allclose(v2.clean_acc, xs)
    ref = stats.linregress(logit(xs), logit(ys))
    assert v2.slope.iloc[0] == pytest.approx(ref.slope)
    assert v2.clean_axis.iloc[0] == "val"
    # A is a 3-class subset: its clean axis is val restricted to those classes
    assert (er[er.benchmark == "a"].clean_axis == "val-on-a-classes").all()


def test_seed_conditions(aggregated):
    seed = pd.read_csv(aggregated / "stats" / "seed_ttests.csv")
    # every transformation and probe step of the fixture; C's corruptions, severities pooled
    assert set(seed[seed.benchmark == "t"].condition) == set(VARIANTS["t"])
    assert set(seed[seed.benchmark == "c"].condition) == set(TEST_CORRUPTIONS)


def test_missing_benchmarks_and_bad_config(tmp_path):
    root = tmp_path / "demo"
    study = make_study(root, benchmarks=("val", "v2"))
    assert _aggregate(root, study) == 0
    assert pd.read_csv(root / "stats" / "seed_ttests.csv").empty
    with pytest.raises(UserError, match="correction"):
        StatsConfig.from_json('{"correction": "bonferroni"}')
    with pytest.raises(UserError, match="unknown keys"):
        StatsConfig.from_json('{"alpah": 0.05}')
    bad = dict(study, stats_json=json.dumps({"baseline_run": "nope"}))
    assert _aggregate(root, bad) == 2


def test_effective_robustness_in_percentage_points(aggregated):
    """Accuracies in the summary are percent; effective robustness (shifted accuracy minus
    the fit's prediction) must be in the same unit, CI included."""
    summary = _read(aggregated / "summary.csv")
    er = _read(aggregated / "stats" / "effective_robustness.csv")
    rows = summary[summary.metric == "eff_robustness"]
    assert len(rows) == len(er) > 0
    for _, fit in er.iterrows():
        row = rows[(rows.run == fit.run) & (rows.benchmark == fit.benchmark)].iloc[0]
        shifted = summary[
            (summary.run == fit.run)
            & (summary.benchmark == fit.benchmark)
            & (summary.metric == "top1")
            & (summary.variant == "")
        ].value.iloc[0]
        assert shifted == pytest.approx(100 * fit.shifted_acc)
        assert row.value == pytest.approx(100 * (fit.shifted_acc - fit.predicted_acc))
        assert row.ci_low == pytest.approx(100 * fit.ci_low)
        assert row.ci_high == pytest.approx(100 * fit.ci_high)


def test_ood_histogram_counts_each_population(aggregated):
    """The ImageNet-O histogram equals numpy's over the predictions file's MSPs."""
    hist = pd.read_csv(aggregated / "stats" / "ood_histogram.csv")
    assert set(hist.run) == {"r0", "r1", "r2", "r3"} and set(hist.benchmark) == {"o"}
    frame = pq.read_table(aggregated / "predictions" / "r2" / "o.parquet").to_pandas()
    for population, mask in (("in", frame.target >= 0), ("out", frame.target < 0)):
        part = hist[(hist.run == "r2") & (hist.population == population)].sort_values("bin")
        expected, _ = np.histogram(frame.msp[mask], bins=np.linspace(0, 1, len(part) + 1))
        assert part["count"].tolist() == expected.tolist()
        assert part["fraction"].sum() == pytest.approx(1.0)


def test_c_parity_cells_against_a_hand_computation(aggregated):
    """Materialized (derived) vs on-the-fly C: each cell's error difference and its flag."""
    parity = pd.read_csv(aggregated / "stats" / "c_parity.csv", dtype={"variant": str})
    assert set(parity.reference) == {"c"} and set(parity.other) == {"c-fly"}
    assert len(parity) == 4 * len(VARIANTS["c"])  # 4 runs x 30 cells
    ref, _ = _correct(aggregated, "r1", "c")
    oth, _ = _correct(aggregated, "r1", "c-fly")
    cell = "fog/2"
    err = {}
    for name, frame in (("ref", ref), ("oth", oth)):
        part = frame[frame.variant == cell]
        err[name] = 100 * (1 - (part.topk.str[0] == part.target).mean())
    row = parity[(parity.run == "r1") & (parity.variant == cell)].iloc[0]
    assert row["diff"] == pytest.approx(err["oth"] - err["ref"])
    assert row.n == len(ref[ref.variant == cell])
    assert (parity.flagged == ((parity.ci_low > 0) | (parity.ci_high < 0))).all()
    summary = _read(aggregated / "summary.csv")
    diffs = summary[summary.metric == "c_parity_error_diff"]
    assert len(diffs) == len(parity) and set(diffs.benchmark) == {"c-fly"}
    flagged = summary[summary.metric == "c_parity_cells_flagged"].set_index("run").value
    assert flagged.to_dict() == parity.groupby("run").flagged.sum().astype(float).to_dict()


def test_class_test_runs_selects_the_runs_of_the_class_wise_tests(tmp_path):
    root = tmp_path / "demo"
    study = make_study(root, benchmarks=("val", "t"))
    settings = json.loads(study["stats_json"]) | {"class_test_runs": ["r1", "r3"]}
    study["stats_json"] = json.dumps(settings)
    assert _aggregate(root, study) == 0
    summary = _read(root / "summary.csv")
    shifted = summary[summary.metric == "class_shift_mean"]
    assert set(shifted.run) == {"r1", "r3"}
    # the paired class test over runs used exactly those two runs' class accuracies
    seed = pd.read_csv(root / "stats" / "seed_ttests.csv")
    classes = seed[seed.level == "class"]
    assert len(classes) and (classes.n_runs == 2).all()
    # the control mean of one class is the mean of r1's and r3's clean class accuracies
    frame, correct = _correct(root, "r1", "val")
    r1 = correct[frame.wnid.to_numpy() == "n01514859"].mean()
    frame, correct = _correct(root, "r3", "val")
    r3 = correct[frame.wnid.to_numpy() == "n01514859"].mean()
    row = classes[(classes.condition == "rotation") & (classes.unit == "n01514859")].iloc[0]
    assert row.mean_control == pytest.approx((r1 + r3) / 2)
    assert set(summary[summary.metric == "top1"].run) == {"r0", "r1", "r2", "r3"}
