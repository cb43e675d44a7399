"""The report's repeatability section (repeated captures of one object) and its figure of
the least repeatable groups."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from shiftlab.report.cells import figure, pivot, plain_table
from shiftlab.report.tables import Results

REPEAT_METRICS = ("repeat_agreement", "repeat_prob_spread", "repeat_groups_disagree")
LEAST = 12  # groups shown in the figure and the table


def least_repeatable(results: Results) -> pd.DataFrame:
    """Groups sorted from the least repeatable (lowest agreement, then widest spread)."""
    table = results.stats.get("repeatability_groups", pd.DataFrame())
    if table.empty:
        return table
    order = table.sort_values(["agreement", "prob_spread", "run", "group"],
                              ascending=[True, False, True, True], kind="stable")  # fmt: skip
    return order.head(LEAST)


def least_repeatable_figure(results: Results, path: Path) -> Path | None:
    """Horizontal bars: agreement (%) of the least repeatable groups, spread as a label."""
    from shiftlab.report.figures import _plt, _save

    shown = least_repeatable(results)
    if shown.empty:
        return None
    fig, ax = _plt().subplots(figsize=(7.0, 0.35 * len(shown) + 1.2))
    labels = shown["run"] + " · " + shown["benchmark"] + ": " + shown["group"].astype(str)
    agreement = 100 * shown["agreement"].to_numpy(float)
    ax.barh(range(len(shown)), agreement, color="#c0504d")
    for i, (value, spread) in enumerate(zip(agreement, shown["prob_spread"], strict=True)):
        inside = value > 60  # the label inside a long bar, after a short one
        ax.text(value - 1 if inside else value + 1, i, f"spread {100 * spread:.1f} pts",
                va="center", ha="right" if inside else "left", fontsize=7,
                color="white" if inside else "black")  # fmt: skip
    ax.set_yticks(range(len(shown)), labels, fontsize=7)
    ax.invert_yaxis()
    ax.set_xlim(0, 100)
    ax.set_xlabel("within-group top-1 agreement, % of capture pairs")
    return _save(fig, path)


def repeatability_parts(results: Results, figs: dict[str, Path]) -> list[str]:
    """Per run and benchmark: agreement, spread, share of groups that disagree, per class,
    the agreement between runs and the least repeatable groups."""
    s = results.summary
    overall = s[s["metric"].isin(REPEAT_METRICS) & (s["variant"] == "")]
    if overall.empty:
        return []
    overall = overall.assign(col=overall["benchmark"] + ":" + overall["metric"])
    per_class = s[s["metric"].str.match(r"repeat_agreement/")]
    per_class = per_class.assign(cls=per_class["metric"].str.split("/", n=1).str[1])
    runs = s[s["metric"].str.match(r"run_(agreement|groups_identical)_vs/")]
    runs = runs.assign(pair=runs["run"] + " vs " + runs["metric"].str.split("/", n=1).str[1],
                       col=runs["benchmark"] + ":" + runs["metric"].str.split("_vs/").str[0])  # fmt: skip
    shown = least_repeatable(results)
    cols = ["run", "benchmark", "group", "class", "n", "agreement", "prob_spread", "answers"]
    return [
        "<p>Images of one physical object form a group (repeated captures). Per group: the share "
        "of capture pairs with the same top-1 class (agreement), max &minus; min top-1 probability "
        "(spread, points) and whether any two captures disagree; means over groups (%), bootstrap "
        "interval over groups, Clopper-Pearson for the share of groups.</p>",
        pivot(overall, "run", "col", "run"),
        "<p>Agreement per class (%):</p>" + pivot(per_class, "run", "cls", "run \\ class") if not per_class.empty else "",
        "<p>Reproducibility: two runs on the same images (% of images with the same top-1; % of "
        "groups answered identically):</p>" + pivot(runs, "pair", "col", "pair") if not runs.empty else "",
        figure("least_repeatable.png", figs.get("least_repeatable.png")),
        "<p>Least repeatable groups (all in <code>stats/repeatability_groups.csv</code>):</p>"
        + plain_table(shown[cols], ("run", "benchmark", "group", "class", "answers")) if not shown.empty else "",
    ]  # fmt: skip
