"""The figures of benchmarks/gpu.py, each against its target, from the steps' JSON outputs.

Every figure is a dict: value, unit, target, op (">=" or "<="), ok, note, detail. A figure
whose step failed keeps its place with value None (and ok False), so a report always lists
the same figures.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Callable
from typing import Any

FULL_C_IMAGES = 19 * 5 * 50_000
OPERATOR_TARGET = 50_000  # images/s at 224 px, each torch corruption operator
# (figure, step it comes from, unit, op, target, what it is)
SPEC: list[tuple[str, str, str, str, float, str]] = [
    ("cuda_tests_failed", "tests", "tests", "<=", 0, "CUDA-only tests failed or errored"),
    ("cuda_tests_skipped", "tests", "tests", "<=", 0, "CUDA-only tests skipped (no GPU)"),
    ("predict_over_forward", "predict", "ratio", ">=", 0.9, "predict / forward-only, clean val"),
    ("imagenet_c_full_minutes", "fly", "min", "<=", 10, "full 19x5 ImageNet-C on the fly"),
    ("corrupt_slowest", "corrupt", "images/s", ">=", OPERATOR_TARGET, "slowest operator"),
    ("train_loader_over_step", "train", "ratio", ">=", 1.5, "loader / bf16 step rate"),
    ("files_nvjpeg_over_forward", "files_nvjpeg", "ratio", ">=", 0.9, "predict C files, nvJPEG"),
    ("files_cpu_over_forward", "files_cpu", "ratio", ">=", 0.9, "predict C files, CPU decode"),
]


def _tests(raw: dict, _all: dict) -> dict[str, tuple[float, str, dict]]:
    detail = dict(raw)
    return {
        "cuda_tests_failed": (raw["failures"] + raw["errors"], "", detail),
        "cuda_tests_skipped": (raw["skipped"], f"{raw['passed']} passed", detail),
    }


def _forward_rate(results: dict) -> float | None:
    raw = (results.get("predict") or {}).get("raw")
    return raw["part1"]["rates"]["forward"] if raw else None


def _predict(raw: dict, _all: dict) -> dict[str, tuple[float, str, dict]]:
    r = raw["part1"]
    best = r["forward"] / r["predict"]  # times: the ratio of rates
    median = statistics.median(t["forward"] / t["predict"] for t in r["rounds"])
    detail = {"best_of_each": best, "median_of_rounds": median, "rows": r["n"], **r["rates"]}
    detail["fixed_cost_s"] = r["one"]
    note = (
        f"{r['rates']['predict']:.0f} vs {r['rates']['forward']:.0f} images/s over {r['n']} "
        f"rows (lower of best-of-each {best:.1%} and median of rounds {median:.1%})"
    )
    return {"predict_over_forward": (min(best, median), note, detail)}


def _fly(raw: dict, _all: dict) -> dict[str, tuple[float, str, dict]]:
    c = raw["part2"]
    rate = c["rows"] / c["fly"]
    note = f"{rate:.0f} images/s over {c['rows']} cell-images ({c['cells']} cells)"
    detail = {"images_per_s": rate, "rows": c["rows"], "cells": c["cells"]}
    return {"imagenet_c_full_minutes": (FULL_C_IMAGES / rate / 60, note, detail)}


def _corrupt(raw: dict, _all: dict) -> dict[str, tuple[float, str, dict]]:
    rates, slowest = raw["images_per_s"], raw["slowest"]
    out = {
        f"corrupt_{name}": (rate, f"batch {raw['batch']} at {raw['size']} px", {})
        for name, rate in rates.items()
    }
    note = f"{slowest}: {raw['bottleneck']['verdict']}"
    out["corrupt_slowest"] = (rates[slowest], note, {"name": slowest, **raw["bottleneck"]})
    return out


def _train(raw: dict, _all: dict) -> dict[str, tuple[float, str, dict]]:
    loader, step = raw["loader"], raw["step_channels_last_bf16"]
    note = (
        f"loader {loader['images_per_s']:.0f} images/s ({loader['workers']} workers) vs "
        f"channels-last bf16 step {step:.0f} images/s (fp32 {raw['step_fp32']:.0f})"
    )
    detail = {k: v for k, v in raw.items() if k.startswith("step")} | {"loader": loader}
    return {"train_loader_over_step": (raw["loader_over_step"], note, detail)}


def _files(decoder: str) -> Callable[[dict, dict], dict[str, tuple[float, str, dict]]]:
    def figure(raw: dict, results: dict) -> dict[str, tuple[float, str, dict]]:
        m = raw["part2"]["mat"]
        rows, seconds = m.get("rows_passes", m["rows"]), m.get("predict_passes", m["predict"])
        rate, forward, used = rows / seconds, _forward_rate(results), raw["args"]["decode"]
        note = f"{rate:.0f} images/s over {rows} rows of {m['rows']} files (--decode {used})"
        detail = {"images_per_s": rate, "rows": rows, "files": m["rows"], "decode": used}
        detail |= {
            "forward_images_per_s": forward,
            "one_pass_images_per_s": m["rows"] / m["predict"],
        }
        value = rate / forward if forward else None
        return {f"files_{decoder}_over_forward": (value, note, detail)}

    return figure


EXTRACT: dict[str, Callable[[dict, dict], dict[str, tuple[float, str, dict]]]] = {
    "tests": _tests,
    "predict": _predict,
    "fly": _fly,
    "corrupt": _corrupt,
    "train": _train,
    "files_nvjpeg": _files("nvjpeg"),
    "files_cpu": _files("cpu"),
}


def _entry(value: Any, unit: str, op: str, target: float, what: str, note: str, detail: dict):
    finite = isinstance(value, int | float) and math.isfinite(value)
    ok = finite and (value >= target if op == ">=" else value <= target)
    return {
        "value": value if finite else None,
        "unit": unit,
        "op": op,
        "target": target,
        "ok": ok,
        "what": what,
        "note": note,
        "detail": detail,
    }


def figures_from(results: dict[str, dict], device: str) -> dict[str, dict]:
    """Every figure of the steps that ran, in a fixed order; a failed step's figures are
    kept with value None and the step's error as the note."""
    spec = {name: (step, unit, op, target, what) for name, step, unit, op, target, what in SPEC}
    found: dict[str, tuple[Any, str, dict]] = {}
    for step, result in results.items():
        if result.get("raw") is None:
            continue
        try:
            found |= EXTRACT[step](result["raw"], results)
        except (KeyError, TypeError, ZeroDivisionError) as exc:
            result["error"] = f"figures unreadable: {exc!r}"
            result["ok"] = False
    names = [n for n, *_ in SPEC if spec[n][0] in results]
    names += sorted(n for n in found if n not in spec)  # one per corruption operator
    figures = {}
    for name in names:
        step, unit, op, target, what = spec.get(
            name, ("corrupt", "images/s", ">=", OPERATOR_TARGET, name.removeprefix("corrupt_"))
        )
        value, note, detail = found.get(name, (None, results[step].get("error") or "", {}))
        figures[name] = _entry(value, unit, op, target, what, note, detail)
    return figures


def _fmt(value: float | None, unit: str) -> str:
    if value is None:
        return "-"
    if unit == "ratio":
        return f"{value:.2f}x" if value >= 1.2 else f"{value:.1%}"
    if unit == "images/s":
        return f"{value:,.0f}/s"
    return f"{value:.1f} {unit}" if unit == "min" else f"{value:g}"


def print_figures(figures: dict[str, dict]) -> None:
    """One line per figure: what, value, target, verdict, and the note."""
    print(f"\n{'figure':<36}{'value':>12}{'target':>14}  verdict")
    for name, f in figures.items():
        target = f"{f['op']} {_fmt(f['target'], f['unit'])}"
        verdict = "ok" if f["ok"] else ("MISSING" if f["value"] is None else "MISSED")
        print(f"{f['what'][:35]:<36}{_fmt(f['value'], f['unit']):>12}{target:>14}  {verdict}")
        if f["note"] and (not name.startswith("corrupt_") or name == "corrupt_slowest"):
            print(f"{'':<4}{f['note']}")
