"""The metric names users read about are the names the metrics code registers."""

from pathlib import Path

import shiftlab.metrics.compute  # noqa: F401 - registers the row-level metrics
import shiftlab.metrics.probes  # noqa: F401
from shiftlab.metrics.registry import list_metrics

DOCS = Path(__file__).resolve().parents[2] / "docs"


def _registered() -> set[str]:
    return {m.removesuffix("/*") + ("/<wnid>" if m.endswith("/*") else "") for m in list_metrics()}


def test_benchmarks_page_lists_every_registered_metric():
    text = (DOCS / "benchmarks.md").read_text()
    missing = [m for m in list_metrics() if f"`{m.removesuffix('/*')}" not in text]
    assert not missing, f"docs/benchmarks.md does not list {missing}"


def test_contracts_page_lists_exactly_the_registered_metrics():
    text = (DOCS / "contracts.md").read_text()
    listing = text[text.index("interval\nmethods is in") : text.index(". A test checks")]
    listing = " ".join(listing.split("):", 1)[1].split())
    names = {n.strip() for n in listing.split(",")}
    names = (names - {"mean_error(_19)"}) | {"mean_error", "mean_error_19"}
    # the O-in-full-space and ReaL bookkeeping rows are documented on the benchmarks page
    side = {"aupr_fullspace_in", "auroc_fullspace_in", "fpr95_fullspace_in", "real_excluded"}
    assert names == _registered() - side
