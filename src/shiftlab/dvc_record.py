"""Record a finished study with DVC, from the head node only.

Snakemake orchestrates and DVC records: after a successful run, `dvc commit` stores the
hashes of the study's outputs (dvc.lock for the default study, records/<study>/dvc.lock for
any other `--configfile` study, records/data/dvc.lock for the data folders they made), so
`dvc status` is clean, `dvc push` shares the data and results, and `dvc metrics diff` shows
how the headline numbers moved. DVC is never
called from inside a job (concurrent dvc commands on the same paths fail at once).
"""

from __future__ import annotations

import logging
import shutil
import subprocess
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)


# -- any study: stage files generated for what it downloaded, derived and produced ---------
RECORDS = "records"  # tracked in git: one dvc.yaml per study, one for the shared data
RESULT_OUTS = ("checkpoints", "predictions", "metrics", "summary.csv", "report.html")
_UNCACHED = {"cache": False, "persist": True}


def data_folders(study: Any) -> list[str]:
    """Folders the study generated, downloaded or derived (local copies are the site's)."""
    found: set[str] = set()
    for bid, entry in study.benchmarks.items():
        source = entry["source"]
        if source == "mininet":
            found.add(f"{study.data_dir}/mininet")
        elif source == "download":
            found.add(f"{study.data_dir}/{bid}")
        elif source == "derived":
            found.add(study.dataset_root(bid))
    return sorted(found)


def _inside(root: Path, path: str) -> str | None:
    """`path` relative to the project, or None outside it (DVC tracks only inside)."""
    try:
        return (root / path).resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        log.warning("%s is outside the DVC project: not recorded", path)
        return None


def _stage_name(rel: str) -> str:
    return rel.replace("/", "--")


def _data_stages(root: Path, study: Any, cmd: str) -> list[str]:
    """Add this study's data folders to records/data/dvc.yaml; -> their stage targets."""
    import yaml

    from shiftlab.atomic import write_text

    path = root / RECORDS / "data" / "dvc.yaml"
    doc = yaml.safe_load(path.read_text()) if path.is_file() else None
    stages = (doc or {}).get("stages", {})
    targets = []
    for folder in data_folders(study):
        rel = _inside(root, folder)
        if rel is None or not (root / rel).is_dir():
            continue
        name = _stage_name(rel)
        stages.setdefault(name, {"wdir": "../..", "cmd": cmd, "outs": [{rel: {"persist": True}}]})
        targets.append(f"{RECORDS}/data/dvc.yaml:{name}")
    head = (
        "# Data folders recorded by DVC after the studies that made them (shiftlab.dvc_record).\n"
    )
    write_text(path, head + yaml.safe_dump({"stages": stages}, sort_keys=True))
    return targets


def _results_stage(root: Path, study: Any, cmd: str) -> str | None:
    """records/<study>/dvc.yaml: the study's results, headline metrics and figures."""
    import yaml

    from shiftlab.atomic import write_text

    base = _inside(root, study.study_dir)
    if base is None:
        return None
    outs = [{f"{base}/{o}": {"persist": True}} for o in RESULT_OUTS if (root / base / o).exists()]
    stage: dict[str, Any] = {"wdir": "../..", "cmd": cmd, "outs": outs}
    stage["deps"] = ["Snakefile", "workflow", "src/shiftlab"]
    if (root / base / "headline.json").is_file():
        stage["metrics"] = [{f"{base}/headline.json": _UNCACHED}]
    if (root / base / "figures").is_dir():
        stage["plots"] = [{f"{base}/figures": _UNCACHED}]
    name = study.config["study"]
    path = root / RECORDS / name / "dvc.yaml"
    head = f"# Study {name!r} as its last successful run left it (shiftlab.dvc_record).\n"
    write_text(path, head + yaml.safe_dump({"stages": {"study": stage}}, sort_keys=False))
    return f"{RECORDS}/{name}/dvc.yaml:study"


def _is_root_study(root: Path, study: Any) -> bool:
    """The study dvc.yaml at the root records (config/config.yaml's, under results/)."""
    import yaml

    default = root / "config" / "config.yaml"
    if not default.is_file() or not (root / "dvc.yaml").is_file():
        return False
    name = (yaml.safe_load(default.read_text()) or {}).get("study")
    return name == study.config["study"] and _inside(root, study.study_dir) == f"results/{name}"


def record_study(
    workdir: str | Path, study: Any, configfiles: list[str], enabled: bool = True
) -> bool:
    """`dvc commit` whichever study ran: its data folders and its results, so `dvc status`
    is clean and `dvc push`/`dvc pull` restore them. Studies share data folders, which is
    why those are stages of their own (DVC forbids two stages with one output)."""
    root = Path(workdir)
    if not enabled or not (root / ".dvc").is_dir():
        return False
    dvc = shutil.which("dvc")
    if dvc is None:
        log.warning("a DVC project but the `dvc` command is not installed: outputs not recorded")
        return False
    cmd = "snakemake" + "".join(f" --configfile {c}" for c in configfiles)
    targets = _data_stages(root, study, cmd)
    results = "dvc.yaml:study" if _is_root_study(root, study) else _results_stage(root, study, cmd)
    targets += [results] if results else []
    proc = subprocess.run(
        [dvc, "commit", "--force", "--quiet", *targets], cwd=root, capture_output=True, text=True
    )
    if proc.returncode != 0:
        raise RuntimeError(
            f"dvc commit failed (exit {proc.returncode}): {proc.stderr.strip() or proc.stdout.strip()}"
        )
    return True
