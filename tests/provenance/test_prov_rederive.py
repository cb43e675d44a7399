"""`shiftlab audit` re-derives every number (aggregate statistics, per-cell metrics, intervals,
per-class detail, stats tables) of the study `test_prov_layout` aggregates with the real
`metrics` and `aggregate` commands; each kind of edit is caught and named."""

from __future__ import annotations

import json

import pandas as pd
from test_prov_layout import audit, layout_study, summary  # noqa: F401 - pytest fixtures

from shiftlab.audit import audit_summary
from shiftlab.audit.rederive import ABS_TOL, REL_TOL


def _edit(path, where, column: str, change) -> int:
    frame = pd.read_csv(path, keep_default_na=False, dtype=str)
    pick = frame.index[where(frame)][0]
    frame.loc[pick, column] = str(change(float(frame.loc[pick, column])))
    frame.to_csv(path, index=False)
    return int(pick)


def _rederive_errors(errors: list[str]) -> list[str]:
    return [e for e in errors if "re-derived" in e]


def test_untouched_study_re_derives_every_number(summary):  # noqa: F811
    report = audit_summary(summary)
    assert report.ok() and not report.findings, [f.line() for f in report.findings]
    assert report.rows_checked == len(pd.read_csv(summary))


def test_edited_aggregate_statistic_is_named(summary, capsys):  # noqa: F811
    pick = _edit(summary, lambda f: (f.run == "*") & (f.metric == "classes_tested"), "value",
                 lambda v: v + 1)  # fmt: skip
    code, errors, out = audit(capsys, str(summary))
    assert code == 1, out
    [error] = _rederive_errors(errors)
    assert error.startswith(f"error: row {pick} (* fly[gaussian_noise] classes_tested=3.0)"), out
    assert "results/demo/summary.csv: value 3.0 != re-derived 2.0" in error, out
    assert "[classes_tested]: 1 finding(s)" in out  # summarised per file and metric


def test_edited_per_cell_number_is_named(summary, capsys):  # noqa: F811
    def where(f):
        return (f.run == "r2") & (f.variant == "gaussian_noise/1") & (f.metric == "top1")

    pick = _edit(summary, where, "value", lambda v: v - 10)
    code, errors, out = audit(capsys, str(summary))
    assert code == 1, out
    [error] = _rederive_errors(errors)
    assert error.startswith(f"error: row {pick} (r2 fly[gaussian_noise/1] top1="), out
    assert "value 56.66666666666666 != re-derived 66.66666666666666" in error, out


def test_edited_interval_is_named(summary, capsys):  # noqa: F811
    def where(f):
        return (f.run == "r1") & (f.benchmark == "fly") & (f.variant == "") & (f.metric == "top1")

    pick = _edit(summary, where, "ci_high", lambda v: v + 0.01)
    code, errors, out = audit(capsys, str(summary))
    assert code == 1, out
    [error] = _rederive_errors(errors)
    assert error.startswith(f"error: row {pick} (r1 fly top1="), out
    assert ": ci_high " in error and "!= re-derived" in error, out


def test_change_within_the_tolerance_passes(summary, capsys):  # noqa: F811
    _edit(summary, lambda f: f.metric == "mean_error", "value", lambda v: v * (1 + REL_TOL / 10))
    frame = pd.read_csv(summary)
    assert REL_TOL > 1e-12 and ABS_TOL <= 1e-12
    code, errors, out = audit(capsys, str(summary))
    assert code == 0 and errors == [], out
    assert len(frame) == 53


def test_edited_per_class_detail_is_named(summary, capsys):  # noqa: F811
    path = summary.parent / "per_class.parquet"
    frame = pd.read_parquet(path)
    assert frame["metric"].str.startswith("class_acc/").all() and len(frame) > 0
    assert not pd.read_csv(summary)["metric"].str.startswith("class_acc/").any()
    frame.loc[1, "ci_low"] = frame.loc[1, "ci_low"] / 2
    frame.to_parquet(path, index=False)
    code, errors, out = audit(capsys, str(summary))
    assert code == 1, out
    [error] = _rederive_errors(errors)
    assert (
        f"results/demo/per_class.parquet: row 1 ci_low {float(frame.loc[1, 'ci_low'])}" in error
    ), out
    assert f"[{frame.loc[1, 'metric'].split('/')[0]}]" in out


def test_edited_stats_table_is_named(summary, capsys):  # noqa: F811
    path = summary.parent / "stats" / "mcnemar.csv"
    frame = pd.read_csv(path)
    column = next(c for c in frame.columns if "p" in c and frame[c].dtype.kind == "f")
    frame.loc[0, column] = 0.123
    frame.to_csv(path, index=False)
    code, errors, out = audit(capsys, str(summary))
    assert code == 1, out
    [error] = _rederive_errors(errors)
    assert f"results/demo/stats/mcnemar.csv: row 0 {column} 0.123 != re-derived" in error, out


def test_row_that_cannot_be_re_derived_is_an_error_unless_allowed(summary, capsys):  # noqa: F811
    frame = pd.read_csv(summary, keep_default_na=False)
    extra = frame.iloc[[0]].assign(metric="top1_invented", value=12.5)
    pd.concat([frame, extra]).to_csv(summary, index=False)
    code, errors, out = audit(capsys, str(summary))
    assert code == 1 and len(errors) == 1, out
    assert errors[0].startswith(f"error: row {len(frame)} (r1 val top1_invented=12.5)"), out
    assert "cannot be re-derived" in errors[0], out
    code, errors, out = audit(capsys, str(summary), "--allow-underived", "--json")
    assert code == 0 and errors == [], out
    [finding] = json.loads(out[: out.rindex("}") + 1])["findings"]
    assert finding["level"] == "warning" and finding["row"] == len(frame)


def test_many_discrepancies_are_summarised(summary, capsys):  # noqa: F811
    frame = pd.read_csv(summary, keep_default_na=False, dtype=str)
    ece = frame.metric == "ece"
    frame.loc[ece, "value"] = (pd.to_numeric(frame.loc[ece, "value"]) + 1).astype(str)
    frame.to_csv(summary, index=False)
    code, errors, out = audit(capsys, str(summary))
    # 4 rows, each named against its metrics file and its re-derivation: one group of 8
    assert code == 1 and len(errors) == 3, out
    assert "== ERROR results/demo/summary.csv [ece]: 8 finding(s)" in out, out
    assert "... 5 more (--all or --json lists them)" in out, out
    code, errors, out = audit(capsys, str(summary), "--all")
    assert len(_rederive_errors(errors)) == ece.sum() == 4, out
