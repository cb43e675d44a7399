"""`shiftlab report`: figures/*.png and one self-contained report.html from an aggregated study."""

from __future__ import annotations

import argparse

from shiftlab.atomic import write_text

HELP = "Draw the study's figures and write one self-contained report.html (numbers link to provenance)."


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--results-dir", required=True, help="results/<study> (summary.csv, stats/)"
    )
    parser.add_argument("--out", required=True, help="results/<study>/report.html")
    parser.add_argument(
        "--figures-dir", default=None, help="where PNGs go (default: <results-dir>/figures)"
    )
    parser.add_argument(
        "--study", default=None, help="study name shown in the title (default: folder name)"
    )
    parser.add_argument(
        "--histories",
        nargs="*",
        default=[],
        help="checkpoints/<run>/history.csv of fine-tuned runs",
    )
    parser.add_argument(
        "--indexes",
        nargs="*",
        default=[],
        help="index/<bench>.parquet of the transforms benchmarks and their clean sources "
        "(the class gallery's images)",
    )
    parser.add_argument(
        "--recipes-json", default="{}", help="JSON {run: recipe entry} of the fine-tuned runs"
    )


def run(args: argparse.Namespace) -> int:
    import json
    from pathlib import Path

    from shiftlab.commands.json_args import json_object
    from shiftlab.report.figures import make_figures
    from shiftlab.report.gallery import read_indexes
    from shiftlab.report.html import render
    from shiftlab.report.tables import load_results
    from shiftlab.report.training import read_histories

    root = Path(args.results_dir)
    results = load_results(root)
    results.training = read_histories(args.histories)
    results.recipes = json_object(args.recipes_json, "--recipes-json")
    results.indexes = read_indexes(args.indexes)
    sidecar = root / "summary.csv.prov.json"
    stats_cfg = {}
    if sidecar.is_file():
        stats_cfg = (json.loads(sidecar.read_text()).get("params") or {}).get("stats") or {}
    figures_dir = Path(args.figures_dir) if args.figures_dir else root / "figures"
    figs = make_figures(results, figures_dir, stats_cfg.get("clean_benchmark"))
    page = render(results, figs, args.study or root.name, stats_cfg)
    out = write_text(args.out, page)
    print(f"report: {len(figs)} figures, {len(results.summary)} numbers -> {out}")
    return 0
