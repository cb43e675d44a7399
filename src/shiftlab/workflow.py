"""Paths and per-rule config slices of a study, used by the Snakemake rules.

Kept out of the .smk files so it is tested without Snakemake, and so each rule's params
carry only its own slice of the config: editing one model's entry changes only that model's
jobs (plus the aggregation), never the whole DAG.
"""

from __future__ import annotations

import hashlib
import json
from functools import cache
from typing import Any

from shiftlab.config import baseline_run
from shiftlab.data.own import FolderLayout
from shiftlab.provenance import source_sha256

# Where each benchmark kind lives inside the generated MiniNet world (official top folders).
MININET_ROOTS = {
    "imagenet_train": "imagenet/train",
    "imagenet_val": "imagenet/val",
    "imagenet_real": "imagenet/val",
    "imagenet_sketch": "sketch",
    "imagenet_a": "imagenet-a",
    "imagenet_r": "imagenet-r",
    "imagenet_o": "imagenet-o",
    "cue_conflict": "cue-conflict",
}
DERIVED_SUFFIX = {"imagenet_c": "c", "tiny_imagenet_c": "c", "imagenet_p": "p", "transforms": "t"}
TRAIN_KINDS = {"imagenet_train", "tiny_imagenet"}
# Class-subset benchmarks that `subset_1000way` also evaluates over the full label space.
FULL_SPACE_KINDS = {"imagenet_a", "imagenet_r", "imagenet_o"}


def is_training_set(entry: dict[str, Any]) -> bool:
    """A benchmark that is trained on, never evaluated: ImageNet train, Tiny ImageNet train,
    the train part of a split folder."""
    if entry["kind"] == "folder":
        return (entry.get("split") or {}).get("part") == "train"
    if entry["kind"] == "tiny_imagenet":
        return entry.get("variant") != "val"
    return entry["kind"] in TRAIN_KINDS


NAME_REGEX = r"[A-Za-z0-9][A-Za-z0-9_.+\-]*"
# Which benchmark needs the clean set as a reference: A/R (clean val on the same 200 classes),
# C (relative mCE), transforms (control for the seed t-tests). ImageNet-O's in-distribution
# half is predicted into its own file (same 200-class mask), from the clean index.
NEEDS_CLEAN = {"imagenet_a", "imagenet_r", "imagenet_c", "tiny_imagenet_c", "transforms"}
NEEDS_BASELINE = {"imagenet_c", "tiny_imagenet_c", "imagenet_p"}


@cache
def code_hash(*subpackages: str) -> str:
    """A rule param, so a rule re-runs when the code that computes its numbers changes.

    Built from `provenance.source_sha256`, the digest that every output's record carries and
    the audit checks for staleness: re-runs and the audit agree on what "changed" means.
    """
    digest = hashlib.sha256()
    for sub in subpackages:
        digest.update(f"{sub}={source_sha256(sub)}\n".encode())
    return digest.hexdigest()[:16]


class Study:
    """A validated config seen as files: what each rule reads and writes."""

    name_regex = NAME_REGEX
    stats_tables = (
        "seed_ttests", "mcnemar", "wilcoxon", "pairwise", "effective_robustness",
        "effective_robustness_band", "bootstrap_ci", "reliability", "ood_histogram", "c_parity",
        "repeatability_groups", "run_agreement",
    )  # fmt: skip

    def __init__(self, config: dict[str, Any]):
        self.config = config
        self.study_dir = f"{config['results_dir']}/{config['study']}"
        self.data_dir = config["data_dir"]
        self.benchmarks: dict[str, dict[str, Any]] = config["benchmarks"]
        # `subset_1000way`: the contested 1000-way variant of A/R/O, evaluated as its own
        # benchmark id `<id>-1000way` (same images and index, softmax over every class)
        self.full_space = {
            f"{bid}-1000way": dict(e, subset_1000way=False, full_1000=True, of=bid)
            for bid, e in self.benchmarks.items()
            if e.get("subset_1000way") and e["kind"] in FULL_SPACE_KINDS
        }
        self.runs: dict[str, dict[str, Any]] = config["runs"]

    # --- data -------------------------------------------------------------------------
    def bench(self, bid: str) -> dict[str, Any]:
        return self.benchmarks[bid] if bid in self.benchmarks else self.full_space[bid]

    def run(self, name: str) -> dict[str, Any]:
        return self.runs[name]

    def dataset_root(self, bid: str) -> str:
        entry = self.bench(bid)
        source, kind = entry["source"], entry["kind"]
        if kind == "imagenet_real":
            return self.dataset_root(entry["from"])
        if source == "mininet":
            if kind == "imagenet_v2":
                return f"{self.data_dir}/mininet/imagenetv2-{entry['variant']}-format-val"
            if kind == "tiny_imagenet":
                return f"{self.data_dir}/mininet/tiny-imagenet-200/{entry['variant'] or 'train'}"
            return f"{self.data_dir}/mininet/{MININET_ROOTS[kind]}"
        if source == "download":
            return f"{self.data_dir}/{bid}"
        if source == "local":
            return entry["path"]
        if source == "derived":
            return f"{self.data_dir}/derived/{entry['from']}-{DERIVED_SUFFIX[kind]}"
        return self.dataset_root(entry["from"])  # on_the_fly: the clean source

    def dataset_ready(self, bid: str) -> list[str]:
        """Marker files that exist only once the benchmark's data is complete."""
        entry = self.bench(bid)
        source, kind = entry["source"], entry["kind"]
        markers: list[str] = []
        if kind == "imagenet_real":
            markers += self.dataset_ready(entry["from"])
            if source == "download":
                markers.append(f"{self.data_dir}/{bid}/.fetched.json")
            return sorted(set(markers))
        if source == "mininet":
            return [f"{self.data_dir}/mininet/MANIFEST.json"]
        if source == "download":
            return [f"{self.data_dir}/{bid}/.fetched.json"]
        if source == "derived":
            return [f"{self.dataset_root(bid)}/manifest.parquet"]
        if source == "on_the_fly":
            return self.dataset_ready(entry["from"])
        groups = entry.get("groups") or {}
        if kind == "folder" and groups.get("by") == "manifest":
            return [groups["file"]]  # an edited groups manifest re-indexes the folder
        return []  # local copies are checked by config validation and `index`

    def real_json(self, bid: str) -> str:
        entry = self.bench(bid)
        if entry["source"] == "mininet":
            return f"{self.data_dir}/mininet/real.json"
        if entry["source"] == "local":
            return entry["path"]
        return f"{self.data_dir}/{bid}/real.json"

    def fetch_args(self, bid: str) -> str:
        """Command-line arguments of `shiftlab fetch` for one downloaded benchmark."""
        entry = self.bench(bid)
        kind = "imagenet_real" if entry["kind"] == "imagenet_real" else entry["kind"]
        args = [kind, "--dest", f"{self.data_dir}/{bid}"]
        if entry.get("variant"):
            args += ["--variant", entry["variant"]]
        return " ".join(_quote(a) for a in args)

    def index_args(self, bid: str) -> str:
        """Command-line arguments of `shiftlab index` for one benchmark."""
        entry = self.bench(bid)
        args = [
            entry["kind"],
            self.dataset_root(bid),
            "--label-space",
            self.config["label_space"],
            "--benchmark",
            bid,
        ]
        if entry.get("variant"):
            args += ["--variant", entry["variant"]]
        if entry["kind"] == "imagenet_real":
            args += ["--real-json", self.real_json(bid)]
        if entry["kind"] == "folder":
            layout = FolderLayout.from_entry(entry).to_json()
            args += ["--folder-json", layout] if layout != "{}" else []
        return " ".join(_quote(a) for a in args)

    def index_file(self, bid: str) -> str:
        return f"{self.study_dir}/index/{bid}.parquet"

    def indexed_benchmarks(self) -> list[str]:
        return [b for b, e in self.benchmarks.items() if e["source"] != "on_the_fly"]

    # --- corruptions --------------------------------------------------------------------
    def corrupt_settings(self, k: str) -> dict[str, Any]:
        c = self.config["corruptions"]
        base = {"params": c["params"], "jpeg_quality": c["jpeg_quality"]}
        if k == "c":
            return base | {"names": c["names"], "severities": c["severities"]}
        if k == "p":
            return base | {
                "perturbations": c["perturbations"],
                "difficulty": c["difficulty"],
                "x264_preset": c["x264_preset"],
            }
        return base | {"transforms": c["transforms"]}

    def shard_files(self, src: str, k: str) -> list[str]:
        n = self.config["corruptions"]["shards"]
        return [f"{self.data_dir}/derived/{src}-{k}/.shards/{i}-of-{n}.parquet" for i in range(n)]

    def derived_sets(self) -> list[tuple[str, str]]:
        return sorted(
            {
                (e["from"], DERIVED_SUFFIX[e["kind"]])
                for e in self.benchmarks.values()
                if e["source"] == "derived"
            }
        )

    # --- models -------------------------------------------------------------------------
    def model_entry(self, run: str) -> dict[str, Any]:
        entry = self.run(run)
        out = {"model": entry["model"], "weights": entry["weights"]}
        size = self.config["evaluation"].get("input_size", "test")
        if size != "test":  # the default stays out, so existing checkpoints keep their key
            out["input_size"] = size
        return out

    def run_seed(self, run: str) -> int:
        """Seed of a run's random init and data order: distinct per run, fixed by the study seed."""
        digest = hashlib.sha256(f"{self.config['seed']}/{run}".encode()).digest()
        return int.from_bytes(digest[:4], "little") & 0x7FFFFFFF

    def recipe_entry(self, run: str) -> dict[str, Any]:
        return dict(self.config["recipes"][self.run(run)["recipe"]])

    def trained_runs(self) -> list[str]:
        return [r for r, e in self.runs.items() if e["recipe"] is not None]

    def trained_recipes_json(self) -> str:
        """{run: recipe entry} of the fine-tuned runs, for the report's fine-tuning table."""
        return json.dumps({r: self.recipe_entry(r) for r in self.trained_runs()}, sort_keys=True)

    def checkpoint(self, run: str) -> str:
        """The checkpoint a run is evaluated with: fine-tuned, or its initial weights."""
        name = "final.pt" if self.run(run)["recipe"] is not None else "init.pt"
        return f"{self.study_dir}/checkpoints/{run}/{name}"

    # --- evaluation ---------------------------------------------------------------------
    def eval_benchmarks(self) -> list[str]:
        """Every benchmark but the training sets (Tiny ImageNet's val split is evaluated)."""
        evaluated = [b for b, e in self.benchmarks.items() if not is_training_set(e)]
        return evaluated + list(self.full_space)

    def predict_inputs(self, run: str, bid: str) -> dict[str, str]:
        entry = self.bench(bid)
        source = entry["from"] if entry["source"] == "on_the_fly" else entry.get("of", bid)
        inputs = {"checkpoint": self.checkpoint(run), "index": self.index_file(source)}
        clean = self.config["stats"]["clean_benchmark"]
        if entry["kind"] == "imagenet_o" and clean in self.benchmarks:
            inputs["clean_index"] = self.index_file(clean)
        return inputs

    def predict_flags(self, inputs: Any, bid: str | None = None) -> str:
        """The config's `evaluation` settings; for ImageNet-O the clean index; for a
        `-1000way` benchmark, softmax over every class."""
        settings = self.config["evaluation"]
        flags = [f"--batch-size {int(settings['batch_size'])}", f"--decode {settings['decode']}"]
        if settings["fp32"]:
            flags.append("--fp32")
        if bid is not None and self.bench(bid).get("full_1000"):
            flags.append("--full-1000")
        if "clean_index" in inputs.keys():
            flags.append(f"--clean-index {_quote(inputs.clean_index)}")
        return " ".join(flags)

    def benchmark_entry(self, bid: str) -> dict[str, Any]:
        """The benchmark's config entry, plus what on-the-fly corruption needs and, for
        ImageNet-P, the study's difficulty (the frame stride its metrics use)."""
        entry = dict(self.bench(bid))
        if entry["source"] == "on_the_fly":
            entry |= self.corrupt_settings("c") | {"seed": self.config["seed"]}
        if entry["kind"] == "imagenet_p":
            entry.setdefault("difficulty", self.config["corruptions"]["difficulty"])
        return entry

    def prediction(self, run: str, bid: str) -> str:
        return f"{self.study_dir}/predictions/{run}/{bid}.parquet"

    def metrics_file(self, run: str, bid: str) -> str:
        return f"{self.study_dir}/metrics/{run}/{bid}.csv"

    def metrics_inputs(self, run: str, bid: str) -> dict[str, str]:
        kind = self.bench(bid)["kind"]
        inputs = {"predictions": self.prediction(run, bid)}
        clean = self.config["stats"]["clean_benchmark"]
        if kind in NEEDS_CLEAN and clean in self.benchmarks:
            inputs["clean"] = self.prediction(run, clean)
        if kind in NEEDS_BASELINE:
            base = baseline_run(self.config)
            inputs["baseline"] = self.prediction(base, bid)
            if clean in self.benchmarks:
                inputs["baseline_clean"] = self.prediction(base, clean)
        return inputs

    @staticmethod
    def metrics_flags(inputs: Any) -> str:
        flags = []
        for key, flag in (
            ("clean", "--clean-predictions"),
            ("baseline", "--baseline-predictions"),
            ("baseline_clean", "--baseline-clean-predictions"),
        ):
            if key in inputs.keys():
                flags += [flag, _quote(getattr(inputs, key))]
        return " ".join(flags)

    # --- aggregation --------------------------------------------------------------------
    def all_predictions(self) -> list[str]:
        return [self.prediction(r, b) for r in self.runs for b in self.eval_benchmarks()]

    def all_metrics(self) -> list[str]:
        return [self.metrics_file(r, b) for r in self.runs for b in self.eval_benchmarks()]

    def histories(self) -> list[str]:
        return [f"{self.study_dir}/checkpoints/{r}/history.csv" for r in self.trained_runs()]

    def gallery_indexes(self) -> list[str]:
        """Index files of the transforms benchmarks and of the sets they derive from (the
        clean benchmark when an entry names none): the report's class gallery finds its
        images through them. Empty without a transforms benchmark."""
        transforms = [b for b, e in self.benchmarks.items() if e["kind"] == "transforms"]
        clean = self.config["stats"]["clean_benchmark"]
        sources = [self.benchmarks[b].get("from", clean) for b in transforms]
        indexed = set(self.indexed_benchmarks())
        wanted = dict.fromkeys(b for b in [*sources, *transforms] if b in indexed)
        return [self.index_file(b) for b in wanted]

    def metrics_settings(self) -> str:
        stats = self.config["stats"]
        return f"--bootstrap {int(stats['bootstrap'])} --seed {int(self.config['seed'])} --alpha {stats['alpha']}"

    def stats_settings(self) -> dict[str, Any]:
        return dict(self.config["stats"]) | {
            "seed": self.config["seed"],
            "baseline_run": baseline_run(self.config),
        }

    def final_targets(self) -> list[str]:
        return [
            f"{self.study_dir}/report.html",
            f"{self.study_dir}/summary.csv",
            f"{self.study_dir}/tracking.json",
            f"{self.study_dir}/published.json",
        ]

    def published_checkpoints(self) -> list[str]:
        """Checkpoints `publish` logs to MLflow: every run's, with `tracking.log_models`."""
        if not self.config.get("tracking", {}).get("log_models"):
            return []
        return [self.checkpoint(run) for run in self.runs]

    def published_model_flags(self) -> str:
        runs = self.runs if self.config.get("tracking", {}).get("log_models") else []
        return " ".join(f"--model {_quote(f'{r}={self.checkpoint(r)}')}" for r in runs)


def _quote(text: str) -> str:
    import shlex

    return shlex.quote(str(text))
