"""Cells of the report: numbers linked to their provenance row, tables and figures, with
one number format for the whole page."""

from __future__ import annotations

import base64
import html
import math
import re
from pathlib import Path

import pandas as pd

from shiftlab.report.figures import FIGURES


def escape(value) -> str:
    return html.escape(str(value), quote=True)


# Columns of stats tables that hold counts.
COUNTS = ("n", "count", "cells", "epochs", "n_classes")
# Summary metrics in percent or percentage points that are not in the metrics registry.
PERCENT_METRICS = ("eff_robustness", "top1_diff_vs/", "clean_top1/")


def _unit(metric: str) -> str:
    from shiftlab.metrics.registry import get_metric

    try:
        return get_metric(metric).unit
    except KeyError:
        return "%" if metric.startswith(PERCENT_METRICS) else ""


_P_VALUE = re.compile(r"(?:^|_)p(?:_|$)")


def is_p_value(metric: str) -> bool:
    """`mcnemar_p_adj_vs/r0`, `class_shift_p_seed`, `p_rel`: yes; `shift_flip_prob`: no."""
    return bool(_P_VALUE.search(metric.split("/", 1)[0]))


def format_value(metric: str, value) -> str:
    """One format per kind of number: p-values 3 significant digits, counts whole, percent
    with one decimal, anything else (slopes, positions) with three."""
    try:
        x = float(value)
    except (TypeError, ValueError):
        return escape(value)
    if math.isnan(x):
        return "–"
    if is_p_value(metric):
        return f"{x:.3g}"
    unit = _unit(metric)
    if (
        metric.startswith("classes_")
        or metric.endswith("_flagged")
        or metric in COUNTS
        or unit == "images"
    ):
        return f"{x:.0f}"
    if unit == "%":
        return f"{x:.1f}"
    return f"{x:.3f}"


def number(row: pd.Series) -> str:
    """A value linked to its provenance row, with its interval when it has one."""
    text = format_value(row["metric"], row["value"])
    ci = ""
    if pd.notna(row.get("ci_low")) and pd.notna(row.get("ci_high")):
        ci = f' <span class="ci">[{format_value(row["metric"], row["ci_low"])}, {format_value(row["metric"], row["ci_high"])}]</span>'
    p_metric = is_p_value(str(row["metric"]))
    cls = (
        ' class="sig"' if p_metric and pd.notna(row["value"]) and float(row["value"]) < 0.05 else ""
    )
    return f'<a href="#s{int(row["row"])}"{cls} title="summary.csv row {int(row["row"])}">{text}</a>{ci}'


def pivot(rows: pd.DataFrame, index: str, columns: str, index_label: str | None = None) -> str:
    """A table of linked numbers: one row per `index` value, one column per `columns` value."""
    if rows.empty:
        return ""
    index_values = list(dict.fromkeys(rows[index]))
    column_values = list(dict.fromkeys(rows[columns]))
    cells = {(r[index], r[columns]): number(r) for _, r in rows.iterrows()}
    head = f'<th class="l">{escape(index_label or index)}</th>' + "".join(
        f"<th>{escape(c)}</th>" for c in column_values
    )
    body = "".join(
        f'<tr><td class="l">{escape(i)}</td>'
        + "".join(f"<td>{cells.get((i, c), '')}</td>" for c in column_values)
        + "</tr>"
        for i in index_values
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def plain_table(frame: pd.DataFrame, text_columns: tuple[str, ...] = ()) -> str:
    """A table of values from a stats CSV (figure data and details, not summary numbers)."""
    if frame.empty:
        return ""
    head = "".join(
        f'<th class="{"l" if c in text_columns else ""}">{escape(c)}</th>' for c in frame.columns
    )
    body = "".join(
        "<tr>" + "".join(
            f'<td class="l">{escape(v)}</td>' if c in text_columns else f"<td>{format_value(c, v)}</td>"
            for c, v in zip(frame.columns, row, strict=True)
        ) + "</tr>"
        for row in frame.itertuples(index=False)
    )  # fmt: skip
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def figure(name: str, path: Path | None) -> str:
    if path is None or not Path(path).is_file():
        return ""
    data = base64.b64encode(Path(path).read_bytes()).decode("ascii")
    title = FIGURES[name][1]
    return (f'<figure id="fig-{escape(Path(name).stem)}"><img alt="{escape(title)}" src="data:image/png;base64,{data}">'
            f"<figcaption>{escape(title)} (<code>figures/{escape(name)}</code>)</figcaption></figure>")  # fmt: skip
