import re

import numpy as np
import pandas as pd
import pytest
from study_fixture import make_study

from shiftlab.cli import main
from shiftlab.errors import UserError
from shiftlab.report.tables import load_results


def _build(root, benchmarks):
    study = make_study(root, benchmarks=benchmarks, per_class=4)
    assert main(["aggregate", "--study", "demo", "--metrics", *study["metrics"], "--predictions",
                 *study["predictions"], "--stats-json", study["stats_json"], "--out-dir", str(root),
                 "--config-sha256", "feed"])  == 0  # fmt: skip
    out = root / "report.html"
    assert main(["report", "--results-dir", str(root), "--out", str(out)]) == 0
    return out.read_text()


@pytest.fixture(scope="module")
def full(tmp_path_factory):
    root = tmp_path_factory.mktemp("full") / "demo"
    return root, _build(root, ("val", "t", "c", "c-fly", "v2", "a", "p", "cue", "o"))


def test_self_contained_and_every_figure_embedded(full):
    root, page = full
    assert not re.search(r'(src|href)="(https?:)?//', page)
    # one inline script (sortable, filterable tables), nothing loaded from anywhere
    assert page.count("<script") == 1 and "<script>" in page
    pngs = sorted(p.name for p in (root / "figures").glob("*.png"))
    assert len(pngs) == 10
    assert page.count('src="data:image/png;base64,') == len(pngs)
    for section in ("effective-robustness", "corruptions", "c-parity", "perturbations", "shift-probes", "ood",
                    "class-sensitivity", "pairwise", "calibration", "shape-bias", "methods",
                    "provenance"):  # fmt: skip
        assert f'id="{section}"' in page, section


def _section(page: str, anchor: str) -> str:
    start = page.index(f'<section id="{anchor}">')
    return page[start : page.index("</section>", start)]


def test_headline_rows_of_the_metrics_code_are_shown(full):
    """CE, mCE and the probes' pooled rows, as the metrics verb names them, are each linked
    from their section (a renamed metric loses its link and fails here)."""
    root, page = full
    summary = pd.read_csv(root / "summary.csv", dtype={"variant": str}, keep_default_na=False)
    wanted = {
        "corruptions": (summary.metric.isin(["ce_baseline"]) & (summary.variant != ""))
        | (summary.metric.isin(["mce_baseline", "relative_mce_baseline", "mean_error"])
           & (summary.variant == "")),
        "shift-probes": summary.metric.isin(["shift_flip_prob", "shift_flip_prob_consecutive",
                                             "shift_prob_change"]) & (summary.variant == "crop_shift"),
    }  # fmt: skip
    for anchor, mask in wanted.items():
        rows = summary[mask]
        assert len(rows) >= 4 * 3, (anchor, rows)  # 4 runs, at least 3 metrics each
        assert np.isfinite(rows.value.astype(float)).all(), rows
        links = set(re.findall(r'href="#s(\d+)"', _section(page, anchor)))
        missing = [i for i in rows.index if str(i) not in links]
        assert not missing, (anchor, summary.loc[missing, ["run", "metric", "variant"]])
    # CE is 100 % for the baseline run against itself
    base = summary[(summary.metric == "ce_baseline") & (summary.run == "r0")]
    assert np.allclose(base.value.astype(float), 100.0)
    # percent with one decimal everywhere, no integer next to a decimal
    for anchor in ("accuracy", "shift-probes"):
        numbers = re.findall(r'title="summary.csv row \d+">([^<]+)</a>', _section(page, anchor))
        assert numbers and all(re.fullmatch(r"\d+\.\d", n) for n in numbers), (anchor, numbers)
    accuracy = _section(page, "accuracy")
    assert "Clopper–Pearson" in accuracy


def test_every_number_links_to_an_existing_provenance_row(full):
    root, page = full
    summary = pd.read_csv(root / "summary.csv")
    links = set(re.findall(r'href="#s(\d+)"', page))
    anchors = set(re.findall(r'<tr id="s(\d+)">', page))
    # the page carries the provenance of exactly the numbers it shows, and links the rest
    assert links and links == anchors and len(anchors) < len(summary)
    assert 'href="summary.csv"' in page and 'href="per_class.parquet"' in page
    # the hashes of a linked row are printed in its provenance entry
    row = summary.iloc[int(sorted(links, key=int)[0])]
    entry = page[page.index(f'<tr id="s{row.name}">') :].split("</tr>")[0]
    assert row.predictions_sha256.split(";")[0][:16] in entry and "feed" in entry


def test_missing_benchmarks_omit_sections(tmp_path):
    page = _build(tmp_path / "demo", ("val", "v2"))
    assert 'id="effective-robustness"' in page
    for section in ("corruptions", "perturbations", "class-sensitivity", "shape-bias"):
        assert f'id="{section}"' not in page, section
    assert page.count("data:image/png;base64,") == 2  # scatter + reliability


def test_report_without_aggregate_is_a_user_error(tmp_path):
    with pytest.raises(UserError, match="aggregate"):
        load_results(tmp_path)
    assert main(["report", "--results-dir", str(tmp_path), "--out", str(tmp_path / "r.html")]) == 2
