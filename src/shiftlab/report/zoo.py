"""The report's zoo check: a pretrained run's clean numbers against the zoo's published ones.

A pretrained timm or torchvision model evaluated without fine-tuning should reproduce the
figure its zoo publishes at the same resolution; if it does not, every effective-robustness
residual inherits the error. timm's figures are its `results/*.csv` (shipped in
`shiftlab/resources/timm_results`, source in its README); torchvision's are the installed
`weights.meta["_metrics"]`. A row is flagged when the published figure lies outside our 95 %
interval widened by `BF16_ALLOWANCE` percentage points for a bf16 run (autocast moves a few
borderline images; timm's figures are fp32), and says where to look.
"""

from __future__ import annotations

import json
from functools import cache
from importlib.resources import files
from pathlib import Path
from typing import Any

import pandas as pd

BF16_ALLOWANCE = 0.3  # percentage points either side of the interval for a bf16 run
# benchmark kind -> (timm results file, our metric)
TIMM_FILES = {
    "imagenet_val": ("results-imagenet.csv", "top1"),
    "imagenet_real": ("results-imagenet-real.csv", "real_top1"),
    "imagenet_v2": ("results-imagenetv2-matched-frequency.csv", "top1"),
    "imagenet_sketch": ("results-sketch.csv", "top1"),
    "imagenet_a": ("results-imagenet-a.csv", "top1"),
    "imagenet_r": ("results-imagenet-r.csv", "top1"),
}
CLEAN_200_FILES = {"imagenet_a": "results-imagenet-a-clean.csv",
                   "imagenet_r": "results-imagenet-r-clean.csv"}  # fmt: skip
COLUMNS = ["run", "benchmark", "model", "geometry", "ours", "ci_low", "ci_high", "published",
           "source", "flagged", "note", "row"]  # fmt: skip


@cache
def timm_results(filename: str) -> pd.DataFrame:
    """One shipped timm results file (model, img_size, top1, crop_pct, interpolation, ...)."""
    with (files("shiftlab.resources") / "timm_results" / filename).open() as fh:
        return pd.read_csv(fh, thousands=",")


def _timm_tag(model: str) -> str:
    """`arch.tag` of a timm name; a bare architecture means its default (first) tag."""
    if "." in model:
        return model
    from timm.models import _registry

    tags = list(_registry.get_arch_pretrained_cfgs(model))
    return tags[0] if tags else model


def published(
    model: str, kind: str, img_size: int, filename: str | None = None
) -> tuple[float | None, str, dict[str, Any]]:
    """(published top-1 %, its source, the published row or why there is none); `filename`
    picks another timm file for the kind (the A/R clean-200 baselines)."""
    if model.startswith("tv:"):
        return _torchvision_published(model[3:], kind, img_size)
    if kind not in TIMM_FILES:
        return None, "", {"reason": f"timm publishes no {kind} results"}
    filename = filename or TIMM_FILES[kind][0]
    table = timm_results(filename)
    rows = table[table["model"] == _timm_tag(model)]
    source = f"timm results/{filename}"
    if rows.empty:
        return None, source, {"reason": f"timm publishes no {kind} figure for {model}"}
    hit = rows[rows["img_size"] == img_size]
    if hit.empty:
        sizes = ", ".join(str(s) for s in sorted(rows["img_size"]))
        why = f"timm publishes {model} at {sizes} px, this run is at {img_size} px: not compared"
        return None, source, {"reason": why}
    return float(hit["top1"].iat[0]), source, hit.iloc[0].to_dict()


def _torchvision_published(name: str, kind: str, img_size: int) -> tuple:
    import torchvision

    arch, _, tag = name.partition(".")
    enum = torchvision.models.get_model_weights(arch)
    weights = enum[tag] if tag else enum.DEFAULT
    source = f"torchvision {arch}.{weights.name} meta['_metrics']"
    if kind != "imagenet_val":
        return None, source, {"reason": f"torchvision publishes no {kind} figure"}
    crop = int(weights.transforms().crop_size[0])
    if crop != img_size:
        why = f"torchvision publishes {weights.name} at {crop} px, this run is at {img_size} px: not compared"
        return None, source, {"reason": why}
    acc = weights.meta["_metrics"]["ImageNet-1K"]["acc@1"]
    return float(acc), source, {"crop_pct": None, "interpolation": None}


def hint(ours: float, figure: float, geometry: dict[str, Any], row: dict[str, Any]) -> str:
    """Where to look when a flagged number differs from the published one."""
    crop, interp = row.get("crop_pct"), row.get("interpolation")
    if crop is not None and (
        abs(float(crop) - float(geometry.get("crop_pct", crop))) > 1e-3
        or interp != geometry.get("interpolation", interp)
    ):
        return (f"preprocessing: published at crop_pct {crop} {interp}, ours "
                f"{geometry.get('text', '')}")  # fmt: skip
    if ours < 0.2 * figure:
        return ("label mapping or weights: near chance; check the head's class order against "
                "the label space and that the weights are this tag's")  # fmt: skip
    if abs(ours - figure) <= 3.0:
        return ("preprocessing: a few points off; compare the geometry (resize, crop mode, "
                "interpolation, JPEG decoder) with the zoo's eval transform")  # fmt: skip
    return "weights: the file or cache entry may not be this tag's checkpoint"


def record_of(path: Path) -> dict[str, Any]:
    """The provenance record embedded in a predictions parquet (schema read only)."""
    import pyarrow.parquet as pq

    meta = pq.read_schema(path).metadata or {}
    return json.loads(meta.get(b"shiftlab", b"{}"))


def _compared(record: dict[str, Any]) -> bool:
    """Only pretrained runs evaluated as they are: a random init or a fine-tune has no
    published figure to reproduce."""
    return bool(record.get("pretrained")) and record.get("checkpoint_rule") != "train"


def check_row(
    run: str, bench: str, record: dict[str, Any], rows: pd.DataFrame, clean_200: bool = False
) -> dict | None:
    """One zoo-check row for (run, benchmark) from its record and its metrics rows; with
    `clean_200`, A's/R's clean-val baseline on their 200 classes (`top1_clean_subset`)."""
    kind = record.get("kind", "")
    if not _compared(record) or kind not in TIMM_FILES:
        return None
    metric, filename = TIMM_FILES[kind][1], None
    if clean_200:
        metric, filename = "top1_clean_subset", CLEAN_200_FILES[kind]
    mine = rows[(rows["run"] == run) & (rows["benchmark"] == bench) & (rows["metric"] == metric)
                & (rows["variant"].fillna("") == "")]  # fmt: skip
    if mine.empty:
        return None
    ours, low, high = (float(mine[c].iat[0]) for c in ("value", "ci_low", "ci_high"))
    anchor = int(mine["row"].iat[0]) if "row" in mine else None
    geometry = record.get("geometry") or {}
    model = record.get("run_model", "")
    size = int((geometry.get("input_size") or [3, 0, 0])[1])
    label = f"{bench} (clean 200)" if clean_200 else bench
    out = {"run": run, "benchmark": label, "model": model, "geometry": geometry.get("text", ""),
           "ours": ours, "ci_low": low, "ci_high": high, "published": None, "source": "",
           "flagged": False, "note": "", "row": anchor}  # fmt: skip
    space = int(record.get("label_space_size") or 0)
    if space != 1000:
        out["note"] = f"label space of {space} classes, the zoo's is ImageNet-1k: not compared"
        return out
    figure, source, ref = published(model, kind, size, filename)
    out["source"] = source
    if figure is None:
        out["note"] = ref["reason"]
        return out
    fp32 = bool((record.get("params") or {}).get("fp32", True))
    slack = 0.0 if fp32 else BF16_ALLOWANCE
    out["published"] = figure
    out["flagged"] = not (low - slack <= figure <= high + slack)
    out["note"] = hint(ours, figure, geometry, ref) if out["flagged"] else "within the interval"
    return out


def zoo_check(root: str | Path, metrics: pd.DataFrame) -> pd.DataFrame:
    """Rows for every predictions file under `<root>/predictions/<run>/<bench>.parquet`."""
    out = []
    for path in sorted(Path(root).glob("predictions/*/*.parquet")):
        record = record_of(path)
        for clean_200 in (False, True) if record.get("kind") in CLEAN_200_FILES else (False,):
            row = check_row(path.parent.name, path.stem, record, metrics, clean_200)
            if row is not None:
                out.append(row)
    return pd.DataFrame(out, columns=COLUMNS)


def zoo_parts(results: Any) -> list[str]:
    """The report's zoo-check table: ours (linked, with its interval) vs the published figure."""
    from shiftlab.report.cells import escape, number

    table = zoo_check(results.root, results.summary)
    if table.empty:
        return []
    body = []
    for _, r in table.iterrows():
        ours = number(pd.Series({"metric": "top1", "value": r["ours"], "ci_low": r["ci_low"],
                                 "ci_high": r["ci_high"], "row": r["row"]}))  # fmt: skip
        pub = (
            "&ndash;"
            if r["published"] is None or pd.isna(r["published"])
            else f"{r['published']:.2f}"
        )
        flag = "<b>flagged</b>" if r["flagged"] else ""
        cells = [
            escape(r["run"]),
            escape(r["benchmark"]),
            escape(r["model"]),
            escape(r["geometry"]),
        ]
        cells = [f'<td class="l">{c}</td>' for c in cells] + [f"<td>{ours}</td>", f"<td>{pub}</td>"]
        cells += [f'<td class="l">{flag}</td>', f'<td class="l">{escape(r["note"])}'
                  f' <span class="ci">{escape(r["source"])}</span></td>']  # fmt: skip
        body.append("<tr>" + "".join(cells) + "</tr>")
    head = "".join(f'<th class="l">{h}</th>' for h in ("run", "benchmark", "model", "geometry"))
    head += "<th>ours (top-1 %)</th><th>published</th>"
    head += "".join(f'<th class="l">{h}</th>' for h in ("", "what to look at"))
    intro = (
        "<p>Pretrained runs evaluated without fine-tuning, against the figure their zoo "
        "publishes at the same resolution (timm's results files, torchvision's "
        "<code>weights.meta['_metrics']</code>). A row is flagged when the published figure "
        f"lies outside our 95&nbsp;% interval, widened by {BF16_ALLOWANCE} points for bf16 "
        "runs.</p>"
    )
    return [intro + f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"]
