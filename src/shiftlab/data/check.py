"""`datasets check`: does a folder hold the benchmark it claims to — counts, classes, readable files?

Full-benchmark counts come from the registry. A MiniNet world (a `MANIFEST.json` at or above
the root) is a deliberately small copy of the official layouts, so there the class set is
MiniNet's and counts are only checked when `expect_count` is given.
"""

from __future__ import annotations

import os
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from shiftlab.data.index import list_samples
from shiftlab.data.registry import Benchmark

MANIFEST_MARKER = "MANIFEST.json"


def mininet_world(root: Path, levels: int = 4) -> Path | None:
    """The MiniNet world holding `root`, if any (its top folder has MANIFEST.json)."""
    path = root.resolve()
    for candidate in [path, *path.parents][: levels + 1]:
        if (candidate / MANIFEST_MARKER).is_file():
            return candidate
    return None


def expected_classes(bench: Benchmark, root: Path, mininet: bool) -> set[str] | None:
    from shiftlab.data import subsets
    from shiftlab.labels import MININET_WNIDS, imagenet1k_wnids

    if bench.classes == "cue_conflict_16":
        return set(subsets.CUE_CONFLICT_CATEGORIES)
    if mininet:
        return set(MININET_WNIDS)
    if bench.classes == "imagenet1k":
        return set(imagenet1k_wnids())
    if bench.classes in subsets.SUBSETS:
        return set(subsets.subset_wnids(bench.classes))
    if bench.classes == "tiny":
        for base in (root, root.parent):
            if (base / "wnids.txt").is_file():
                return set((base / "wnids.txt").read_text().split())
    return None


def probe_file(path: Path, video: bool) -> str | None:
    """None when the file decodes, else a short reason."""
    try:
        if path.stat().st_size == 0:
            return "empty file"
        if video:
            import av

            with av.open(str(path)) as container:
                next(container.decode(video=0))
            return None
        from PIL import Image

        with Image.open(path) as img:
            img.verify()  # structure and checksums, cheap
        with Image.open(path) as img:
            img.load()  # a full decode catches truncated data verify() misses
        return None
    except Exception as exc:  # noqa: BLE001 - any decoder failure makes the file unreadable
        return f"{type(exc).__name__}: {exc}"[:200]


def check_dataset(
    kind: str,
    root: str | Path,
    variant: str | None = None,
    expect_count: int | None = None,
    decode: bool = True,
    real_json: str | Path | None = None,
    class_map: str | Path | None = None,
    ground_truth: str | Path | None = None,
    threads: int | None = None,
    space_spec: str | None = None,
    layout: Any = None,
) -> dict[str, Any]:
    """Check a benchmark root (with a label space, folders named by its classes count);
    the report's `problems` list is empty when all is well."""
    from shiftlab.labels import label_space

    space = label_space(space_spec) if space_spec else None
    bench, resolved, listing = list_samples(kind, root, variant, real_json, class_map,
                                            ground_truth, space, layout)  # fmt: skip
    world = mininet_world(resolved)
    problems: list[str] = []
    counts = Counter(s.variant for s in listing.samples)
    expected = (
        expect_count
        if expect_count is not None
        else (None if world else bench.expected_for(variant))
    )
    if not listing.samples:
        problems.append(f"no samples found ({bench.description})")
    if expected is not None:
        cells = counts if bench.count_per_variant else {"": len(listing.samples)}
        for cell, n in sorted(cells.items()):
            if n != expected:
                where = f" in {cell}" if cell else ""
                problems.append(f"{n} samples{where}, expected {expected}")
    want = expected_classes(bench, resolved, world is not None)
    present = listing.classes
    missing = sorted(want - present) if want is not None and world is None else []
    extra = sorted(present - want) if want is not None else []
    if missing:
        problems.append(f"{len(missing)} expected classes missing (e.g. {', '.join(missing[:5])})")
    if extra:
        problems.append(
            f"{len(extra)} classes not in {bench.classes} (e.g. {', '.join(extra[:5])})"
        )
    if listing.bad_folders:
        problems.append(
            f"{len(listing.bad_folders)} folders name no class (e.g. {', '.join(listing.bad_folders[:5])})"
        )

    unreadable: list[dict[str, str]] = []
    if decode and listing.samples:
        paths = [s.sample for s in listing.samples]
        unreadable = _unreadable_files(resolved, paths, bench.media == "video", threads)
        if unreadable:
            problems.append(f"{len(unreadable)} unreadable files (e.g. {unreadable[0]['sample']})")

    report: dict[str, Any] = {
        "kind": kind,
        "root": str(resolved),
        "variant": variant or "",
        "mininet_world": str(world) if world else None,
        "n": len(listing.samples),
        "expected_count": expected,
        "count_scope": "per variant" if bench.count_per_variant else "total",
        "per_variant": dict(sorted(counts.items())) if bench.count_per_variant else {},
        "classes": len(present),
        "expected_classes": len(want) if want is not None else None,
        "missing_classes": missing,
        "extra_classes": extra,
        "bad_folders": listing.bad_folders,
        "unreadable": unreadable,
        "decoded": decode,
        "ignored": listing.ignored,
        "problems": problems,
    }
    if kind == "imagenet_real":
        _check_real_lists(report, listing.notes, bench)
    return report


def _unreadable_files(
    root: Path, paths: list[str], video: bool, threads: int | None
) -> list[dict[str, str]]:
    """Probe every file in parallel threads; the ones that do not decode, with the reason."""
    with ThreadPoolExecutor(max_workers=threads or min(8, os.cpu_count() or 1)) as pool:
        reasons = pool.map(lambda p: probe_file(root / p, video), paths)
        return [{"sample": p, "error": r} for p, r in zip(paths, reasons, strict=True) if r]


def _check_real_lists(report: dict[str, Any], notes: dict[str, Any], bench: Benchmark) -> None:
    """ReaL's label lists into the report; the full set must have the published empty count."""
    report.update({k: notes[k] for k in ("real_json", "real_lists", "real_empty")})
    full = notes["real_lists"] == 50_000
    empty_expected = bench.extra["empty_lists"]
    if full and notes["real_empty"] != empty_expected:
        report["problems"].append(
            f"{notes['real_empty']} empty ReaL lists, expected {empty_expected}"
        )
    report["real_scored"] = notes["real_lists"] - notes["real_empty"]


def format_report(report: dict[str, Any]) -> str:
    """Human-readable table of a check report."""
    exp = report["expected_count"]
    rows = [
        (
            "benchmark",
            f"{report['kind']}" + (f" [{report['variant']}]" if report["variant"] else ""),
        ),
        ("root", report["root"] + ("  (MiniNet world)" if report["mininet_world"] else "")),
        (
            "samples",
            f"{report['n']}"
            + (f"  (expected {exp} {report['count_scope']})" if exp is not None else ""),
        ),
    ]
    for cell, n in report["per_variant"].items():
        rows.append((f"  {cell}", str(n)))
    ec = report["expected_classes"]
    rows.append(
        ("classes", f"{report['classes']}" + (f"  (expected {ec})" if ec is not None else ""))
    )
    rows.append(("missing classes", _short(report["missing_classes"])))
    rows.append(("extra classes", _short(report["extra_classes"])))
    rows.append(("bad folders", _short(report["bad_folders"])))
    unread = [f"{u['sample']} ({u['error']})" for u in report["unreadable"]]
    rows.append(
        ("unreadable", _short(unread) if report["decoded"] else "not checked (--no-decode)")
    )
    rows.append(("ignored files", _short(report["ignored"])))
    if "real_lists" in report:
        rows.append(
            (
                "ReaL lists",
                f"{report['real_lists']} ({report['real_empty']} empty, {report['real_scored']} scored)",
            )
        )
    width = max(len(k) for k, _ in rows)
    lines = [f"{k.ljust(width)}  {v}" for k, v in rows]
    problems = report["problems"]
    lines.append("OK" if not problems else f"{len(problems)} problem(s):")
    lines += [f"  - {p}" for p in problems]
    return "\n".join(lines)


def _short(items: list[str], limit: int = 5) -> str:
    if not items:
        return "0"
    more = f", … (+{len(items) - limit})" if len(items) > limit else ""
    return f"{len(items)}: " + ", ".join(items[:limit]) + more
